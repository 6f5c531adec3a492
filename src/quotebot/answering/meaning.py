"""A second look at the reader's best candidates, by meaning.

For each of the few best candidate spans the embedder (the index's own model) compares the
question with the candidate's sentence in which the candidate gives way to the question's
wh-word: "Dmitry Peskov, a spokesperson for the Kremlin, addressed ..." becomes "who, a
spokesperson for the Kremlin, addressed ...", which says much what "Who spoke for the
Kremlin?" asks; "Russian" taken out instead leaves the sentence as far from the question as
before. The cosine and the reader's score, weighted as fitted (``models/reader.json``,
``meaning``), order those candidates again.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import numpy as np

from quotebot.answering import reader
from quotebot.indexing import embedding
from quotebot.retrieval import evidence

CHECKED = 5  # the reader's best candidates looked at again (each one more short text to embed)
CONTEXT = 24  # words of the sentence either side of the candidate kept around the wh-word
_STANDS_FOR = {
    "who": "who",
    "what_person": "who",
    "when": "when",
    "what_date": "when",
    "where": "where",
    "what_place": "where",
    "how_many": "how many",
    "what_number": "how many",
    "how_much": "how much",
}


def cloze(
    question: str | np.ndarray, kind: str, texts: Sequence[str], found: Sequence[reader.Candidate]
) -> np.ndarray:
    """The cosine between the question (its text, or its vector) and each candidate's sentence
    with the candidate replaced by the wh-word (one embedding call for all of them)."""
    if not found:
        return np.zeros(0)
    asked = [question] if isinstance(question, str) else []
    vectors = embedding.encode([*asked, *clozes(kind, texts, found)])
    vector = vectors[0] if asked else question
    return np.asarray(vectors[len(asked) :] @ vector, dtype=float)


def clozes(kind: str, texts: Sequence[str], found: Sequence[reader.Candidate]) -> list[str]:
    """Each candidate's sentence (at most CONTEXT words either side of it) with the question's
    wh-word in the candidate's place."""
    word = _STANDS_FOR.get(kind, "what")
    sentences = {c.passage: evidence.split_sentences(texts[c.passage]) for c in found}
    out = []
    for c in found:
        text = texts[c.passage]
        start, end = next(
            ((a, b) for a, b in sentences[c.passage] if a <= c.start < b), (0, len(text))
        )
        before = text[start : c.start].split(" ")[-CONTEXT - 1 :]
        after = text[c.end : max(end, c.end)].split(" ")[: CONTEXT + 1]
        out.append(f"{' '.join(before)}{word}{' '.join(after)}")
    return out


def reorder(
    found: Sequence[reader.Candidate], similarity: np.ndarray, weights: dict[str, float]
) -> list[reader.Candidate]:
    """The reader's best CHECKED candidates (``found``: all of them, best first), scored
    again by the weighted sum of the reader's score and the cloze cosine (``similarity``, one
    for each checked candidate), best first. Each keeps its cosine and its share of the
    reader's probability over all candidates as features."""
    checked = len(similarity)
    shares = reader.probabilities(found)[:checked]
    scored = [
        replace(
            c,
            score=weights["score"] * c.score + weights["cloze"] * float(s),
            features={**c.features, "cloze": float(s), "reader_probability": float(p)},
        )
        for c, s, p in zip(found[:checked], similarity, shares, strict=True)
    ]
    return sorted(scored, key=lambda c: -c.score)


def check(
    question: str | np.ndarray, kind: str, texts: Sequence[str], found: Sequence[reader.Candidate]
) -> list[reader.Candidate]:
    """The reader's best CHECKED candidates, ordered again by meaning."""
    similarity = cloze(question, kind, texts, found[:CHECKED])
    return reorder(found, similarity, reader.model()["meaning"])
