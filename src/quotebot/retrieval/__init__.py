"""Finding the passages for a question: dense (FAISS) and keyword (BM25) scores fused, then
the best ~20 reranked by how their sentences match the question (see ``evidence``).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, replace
from functools import cache
from importlib import resources
from typing import Literal

import numpy as np

from quotebot import embedding
from quotebot.records import Hit
from quotebot.retrieval import evidence
from quotebot.storage import Version
from quotebot.text import stems

CANDIDATES = 50  # nearest passages taken from each of FAISS and BM25
RERANKED = 20  # best fused passages the second stage looks at
DENSE_WEIGHT = 0.5
RERANK_MODEL = "models/rerank.json"

Mode = Literal["hybrid", "dense", "keyword"]
MODES: tuple[Mode, ...] = ("hybrid", "dense", "keyword")


@dataclass(frozen=True)
class Ranking:
    """The hits for a question, best first, with the question as the second stage read it."""

    query: evidence.Query
    hits: list[Hit]
    fused: list[float]  # the first stage's score of each hit
    vector: np.ndarray | None = None  # the question's vector, as the search embedded it


def search(
    index: Version,
    question: str,
    k: int = 5,
    *,
    mode: Mode = "hybrid",
    vector: np.ndarray | None = None,
) -> list[Hit]:
    """The k passages that best match the question, best first.

    Args:
        index: An opened index.
        question: The question as the user wrote it.
        k: How many passages to return. Defaults to 5.
        mode: "hybrid" (ours), or "dense" / "keyword" alone to compare with.
        vector: The question's vector, when already encoded.
    """
    return rank(index, question, k, mode=mode, vector=vector).hits


def rank(
    index: Version,
    question: str,
    k: int = 5,
    *,
    mode: Mode = "hybrid",
    vector: np.ndarray | None = None,
) -> Ranking:
    """Like ``search``, keeping what the second stage found out about the question."""
    if len(index) == 0:  # nothing indexed (every article removed)
        return Ranking(evidence.Query(question, {}, frozenset(), evidence.OTHER, 0.0), [], [])
    query = evidence.analyse(question, index)
    if vector is None:
        vector = embedding.encode([question])[0]
    if mode != "hybrid":
        hits = first_stage(index, question, mode, vector, limit=k)
        return Ranking(query, hits, [h.score for h in hits], vector)
    # The second stage looks at the best RERANKED, or at all k when more are asked for.
    hits = first_stage(index, question, mode, vector, limit=max(k, RERANKED))
    scored = sorted(((score(features(query, hit)), hit) for hit in hits), key=lambda p: -p[0])
    return Ranking(
        query,
        [replace(hit, score=value) for value, hit in scored[:k]],
        [h.score for _, h in scored[:k]],
        vector,
    )


def first_stage(
    index: Version,
    question: str,
    mode: Mode = "hybrid",
    vector: np.ndarray | None = None,
    limit: int = RERANKED,
) -> list[Hit]:
    """The best ``limit`` passages by a weighted sum of cosine and normalized BM25, best first.

    Candidates are the nearest passages in meaning and the best keyword matches (at least
    CANDIDATES of each, more when more are asked for).
    """
    if len(index) == 0:
        return []
    if vector is None:
        vector = embedding.encode([question])[0]
    bm25 = index.keyword_scores(stems(question))
    best_bm25 = float(bm25.max())
    pool = max(CANDIDATES, limit)
    candidates = {row for row, _ in index.nearest(vector, pool)}
    if best_bm25 > 0:
        top = np.argpartition(-bm25, min(pool, len(bm25) - 1))[:pool]
        candidates.update(int(row) for row in top if bm25[row] > 0)
    rows = np.array(sorted(candidates))
    cosine = index.vectors_of(rows) @ vector
    matched = bm25[rows] / best_bm25 if best_bm25 > 0 else np.zeros(len(rows))
    weight = {"hybrid": DENSE_WEIGHT, "dense": 1.0, "keyword": 0.0}[mode]
    fused = weight * cosine + (1 - weight) * matched
    order = np.argsort(-fused)[:limit]
    passages = index.passages([int(rows[i]) for i in order])
    return [
        Hit(p, float(fused[i]), int(rows[i]), float(cosine[i]), float(matched[i]))
        for p, i in zip(passages, order, strict=True)
    ]


def features(query: evidence.Query, hit: Hit) -> dict[str, float]:
    """What the second stage weighs about one passage (each roughly between 0 and 1)."""
    sentences = evidence.match_sentences(query, hit.passage.text)
    best = max(sentences, key=lambda s: (s.coverage, s.proximity))
    top = best.coverage
    window = max(
        (evidence.weight_of(query, a.matched | b.matched) for a, b in _pairs(sentences)),
        default=top,
    )
    everything = frozenset().union(*(s.matched for s in sentences))
    return {
        "dense": hit.dense,
        "keyword": hit.keyword,
        "sentence": top,
        "window": window,
        "passage": evidence.weight_of(query, everything),
        "title": evidence.coverage(query, hit.passage.title),
        "proximity": best.proximity / 2,
        "phrases": max(s.phrases for s in sentences),
        "typed": float(any(s.typed and s.coverage >= 0.5 * top for s in sentences)),
    }


RERANK_FEATURES = (
    "dense", "keyword", "sentence", "window", "passage", "title", "proximity", "phrases", "typed",
)  # fmt: skip
"""The names :func:`features` gives, which ``models/rerank.json`` must weigh, each of them."""


class FittedModelMismatch(RuntimeError):
    """Fitted weights that name other features than the code computes (one was renamed,
    added or dropped since the fit): refit rather than weigh a feature 0."""


def check_feature_names(source: str, weighed: Iterable[str], computed: Iterable[str]) -> None:
    """Refuse fitted weights whose feature names differ from the code's.

    Raises:
        FittedModelMismatch: naming the features only one side knows, and ``source``.
    """
    weighed, computed = set(weighed), set(computed)
    if weighed != computed:
        raise FittedModelMismatch(
            f"{source} weighs features the code does not compute "
            f"({', '.join(sorted(weighed - computed)) or 'none'}) and the code computes "
            f"features it does not weigh ({', '.join(sorted(computed - weighed)) or 'none'}); "
            "refit it (scripts/fit_models.py --write, scripts/fit_reader.py --write)"
        )


@cache
def rerank_weights() -> dict[str, float]:
    """The second stage's linear weights over a passage's features (see ``features``):
    a pairwise logistic model of "this paragraph rather than that one holds the answer",
    fitted on squad_dev8 by ``scripts/fit_models.py --write`` (``models/rerank.json``).

    Raises:
        FittedModelMismatch: it weighs other features than :data:`RERANK_FEATURES`.
    """
    fitted = json.loads(resources.files("quotebot").joinpath(RERANK_MODEL).read_text())
    check_feature_names(RERANK_MODEL, fitted["weights"], RERANK_FEATURES)
    return {name: float(weight) for name, weight in fitted["weights"].items()}


def score(values: dict[str, float]) -> float:
    """The second stage's score of a passage from its features."""
    weights = rerank_weights()
    return sum(weights[name] * value for name, value in values.items())


def _pairs(sentences: list[evidence.SentenceMatch]) -> list[tuple[evidence.SentenceMatch, ...]]:
    return list(zip(sentences, sentences[1:], strict=False))
