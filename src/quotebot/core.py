"""Choosing what to quote, and deciding whether the articles answer at all."""

from __future__ import annotations

import logging
import math
import re
import threading
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from quotebot import evidence, keywords, reader, store
from quotebot.search import Hit, Ranking, rank

log = logging.getLogger(__name__)

DEFAULT_K = 5
READ_PASSAGES = 2  # the best passages after reranking that the reader reads
_NEGATION = re.compile(r"\b(not|never|no|none|nor|without)\b|n't\b", re.IGNORECASE)
_REFERS_BACK = re.compile(
    r"(It|Its|This|These|Those|They|Their|He|His|She|Her|Such|There|That|The latter)\b"
)


@dataclass(frozen=True)
class Answer:
    """The reply to one question: what to say, the words quoted, and where they come from.

    ``quote`` is an exact substring of the best passage; ``answer`` (the reader's span) an
    exact substring of ``quote``, starting at ``answer_start`` within it.
    ``answer_confidence`` is the calibrated probability that ``answer`` is exactly right;
    ``answer_shown`` says whether it is sure enough to be shown (in bold) above the quote.
    """

    question: str
    found: bool
    answer: str = ""
    quote: str = ""
    answer_start: int = 0
    passages: list[Hit] = field(default_factory=list)
    answer_confidence: float = 0.0
    answer_shown: bool = False

    @property
    def source(self) -> Hit | None:
        """The passage the quote is taken from."""
        return self.passages[0] if self.found and self.passages else None

    def to_dict(self) -> dict[str, Any]:
        """The JSON shape of ``quotebot ask --json``."""
        return {
            "question": self.question,
            "found": self.found,
            "answer": self.answer,
            "answer_confidence": round(self.answer_confidence, 4),
            "answer_shown": self.answer_shown,
            "quote": self.quote,
            "passages": [
                {
                    **{key: value for key, value in asdict(hit.passage).items()},
                    "score": round(hit.score, 4),
                }
                for hit in self.passages
            ],
        }


@dataclass(frozen=True)
class Reading:
    """What the reader made of the best passages: candidate spans, best first, and the
    (start, end) in its passage of the quote around the best one."""

    question: reader.Question
    candidates: list[reader.Candidate]
    probabilities: np.ndarray
    quote: tuple[int, int] = (0, 0)

    @property
    def best(self) -> reader.Candidate | None:
        return self.candidates[0] if self.candidates else None


def read(ranking: Ranking, n: int = READ_PASSAGES) -> Reading:
    """Run the reader over the best n passages of a ranking."""
    question = reader.analyse(ranking.query.text, ranking.query.terms)
    texts = [hit.passage.text for hit in ranking.hits[:n]]
    found = reader.read(question, texts, reader_passage_features(ranking, n))
    return reading_of(ranking, question, found)


def reading_of(
    ranking: Ranking, question: reader.Question, found: list[reader.Candidate]
) -> Reading:
    """The reading of these candidates (best first): their probabilities and the quote."""
    quote = (0, 0)
    if found:
        best = found[0]
        text = ranking.hits[best.passage].passage.text
        quote = quote_around(text, best.start, best.end, ranking.query.terms)
    return Reading(question, found, reader.probabilities(found), quote)


def reader_passage_features(ranking: Ranking, n: int) -> list[dict[str, float]]:
    """What the reader weighs about each of the best n passages as a whole."""
    hits = ranking.hits[:n]
    top = hits[0].score if hits else 0.0
    return [
        {"passage_first": float(i == 0), "passage_gap": top - h.score, "passage_dense": h.dense}
        for i, h in enumerate(hits)
    ]


def quote_around(
    text: str, start: int, end: int, terms: dict[str, float] | None = None
) -> tuple[int, int]:
    """The sentence(s) of a passage that hold the span [start, end).

    With the sentence before when the first begins by referring back to it ("It ...",
    "They ..."); else with the neighbour that holds most of the question's ``terms`` (by
    weight) that the span's sentence lacks, so that the quote shows what the question asks about.
    """
    sentences = evidence.split_sentences(text)
    first = next((i for i, (_, e) in enumerate(sentences) if start < e), len(sentences) - 1)
    last = max(first, next((i for i, (_, e) in enumerate(sentences) if end <= e), first))
    if first > 0 and _REFERS_BACK.match(text, sentences[first][0]):
        first -= 1
    elif terms:
        quoted = set(keywords.terms(text[sentences[first][0] : sentences[last][1]]))

        def adds(i: int) -> float:
            s, e = sentences[i]
            return sum(terms.get(t, 0.0) for t in set(keywords.terms(text[s:e])) - quoted)

        near = [i for i in (first - 1, last + 1) if 0 <= i < len(sentences)]
        best = max(near, key=adds, default=None)
        if best is not None and adds(best) > 0:
            first, last = min(first, best), max(last, best)
    return sentences[first][0], sentences[last][1]


def evidence_features(ranking: Ranking, reading: Reading) -> dict[str, float]:
    """What the found decision and the answer confidence weigh about a question."""
    hits = ranking.hits
    best = reading.best
    values = {
        "score": hits[0].score,
        "margin": hits[0].score - hits[1].score if len(hits) > 1 else 1.0,
        "dense": hits[0].dense,
        "unknown": ranking.query.unknown,
        "sentence": best.features["sentence_cover"] if best else 0.0,
        "passage_cover": best.features["passage_cover"] if best else 0.0,
        "span_score": best.score if best else 0.0,
        "span_probability": float(reading.probabilities[0]) if best else 0.0,
        "span_gap": best.score - reading.candidates[1].score
        if len(reading.candidates) > 1 and best
        else 0.0,
        "span_first_passage": float(best.passage == 0) if best else 0.0,
        "span_length": math.log1p(len(best.text.split())) if best else 0.0,
    }
    values[f"kind={reading.question.kind}"] = 1.0
    if best is not None and "type_match" in best.features:  # a kind that asks for a type
        values["typed_mass"] = float(
            sum(p for c, p in zip(reading.candidates, reading.probabilities, strict=True)
                if c.features.get("type_match"))
        )  # fmt: skip
    if best is not None:
        text = hits[best.passage].passage.text
        start, end = reading.quote
        names = reading.question.names
        total = sum(names.values()) or 1.0
        quoted, passage = set(keywords.terms(text[start:end])), set(keywords.terms(text))
        values["names_unquoted"] = sum(w for t, w in names.items() if t not in quoted) / total
        values["names_absent"] = sum(w for t, w in names.items() if t not in passage) / total
        negated = bool(_NEGATION.search(ranking.query.text))
        values["negation_differs"] = float(negated != bool(_NEGATION.search(text[start:end])))
    return values


def logistic(model: dict[str, Any], values: dict[str, float]) -> float:
    """The probability a fitted logistic model (``weights``, ``bias``) gives these features."""
    weights = model["weights"]
    z = model["bias"] + sum(weights.get(name, 0.0) * v for name, v in values.items())
    return 1.0 / (1.0 + math.exp(-max(min(z, 50.0), -50.0)))


def answer_with(
    index: store.Index,
    question: str,
    k: int = DEFAULT_K,
    *,
    vector: np.ndarray | None = None,
    show_threshold: float | None = None,
) -> Answer:
    """Answer a question from an opened index.

    Args:
        index: An opened index.
        question: The question as the user wrote it.
        k: How many passages to list.
        vector: The question's vector, when already encoded.
        show_threshold: The answer confidence at which the short answer is shown; defaults
            to the fitted one (``models/reader.json``).

    Raises:
        ValueError: the question is empty.
    """
    question = " ".join(question.split())
    if not question:
        raise ValueError("the question is empty")
    ranking = rank(index, question, max(k, READ_PASSAGES), vector=vector)
    hits = ranking.hits
    if not hits:
        return Answer(question, found=False, passages=hits)
    reading = read(ranking)
    values = evidence_features(ranking, reading)
    model = reader.model()
    if logistic(model["found"], values) < model["found"]["threshold"]:
        return Answer(question, found=False, passages=hits[:k])
    best = reading.best
    if best is None:  # nothing the reader could take: the passage's best sentence
        start, end = quote_around(hits[0].passage.text, 0, 1)
        quote = hits[0].passage.text[start:end]
        return Answer(question, True, quote, quote, 0, hits[:k])
    source = hits[best.passage]
    passages = [source, *(h for h in hits if h is not source)][:k]
    start, end = reading.quote
    confidence = logistic(model["confidence"], values)
    if show_threshold is None:
        show_threshold = fitted_threshold()
    return Answer(
        question,
        True,
        best.text,
        source.passage.text[start:end],
        best.start - start,
        passages,
        confidence,
        confidence >= show_threshold,
    )


def fitted_threshold() -> float:
    """The answer confidence at which short answers are shown, as fitted (models/reader.json)."""
    return float(reader.model()["confidence"]["threshold"])


class Engine:
    """Answers questions from the live index in one folder, following it as it changes.

    Before each question it checks (one small file read) whether a new version went
    live, and opens it; questions already running finish on the version they began with.
    """

    def __init__(self, index_dir: Path, show_threshold: float | None = None) -> None:
        """Args:
        index_dir: The index folder.
        show_threshold: The answer confidence at which short answers are shown; defaults to
            the ``QUOTEBOT_ANSWER_THRESHOLD`` setting, else the fitted threshold.
        """
        if show_threshold is None:
            from quotebot.settings import Settings

            show_threshold = Settings().answer_threshold
        self.show_threshold = show_threshold
        self.index_dir = index_dir
        self._lock = threading.Lock()
        self._index: store.Index | None = None
        self._refused: Path | None = None  # a version that would not open; tried once

    @property
    def index(self) -> store.Index:
        """The live index, reopened when a new version has gone live.

        Should the new version fail to open, the one already open keeps answering.
        """
        live = store.current_version(self.index_dir)
        with self._lock:
            if self._index is None:
                self._index = store.open_index(self.index_dir)
            elif live is not None and live not in (self._index.path, self._refused):
                try:
                    self._index = store.open_index(self.index_dir)
                except store.StoreError as error:
                    self._refused = live
                    log.warning("still answering from %s: %s", self._index.path, error)
            return self._index

    def answer(self, question: str, k: int = DEFAULT_K) -> Answer:
        """Answer one question; see :func:`answer_with`."""
        return answer_with(self.index, question, k, show_threshold=self.show_threshold)


_engines: dict[Path, Engine] = {}


def answer(question: str, k: int = DEFAULT_K, index_dir: Path | None = None) -> Answer:
    """Answer a question from the index in ``index_dir`` (default: the configured one).

    Args:
        question: The question as the user wrote it.
        k: How many passages to list. Defaults to 5.
        index_dir: The index folder. Defaults to the ``QUOTEBOT_INDEX_DIR`` setting.

    Returns:
        The answer; ``found`` is False when no article answers the question.

    Raises:
        ValueError: the question is empty.
        store.StoreError: there is no usable index.
    """
    if index_dir is None:
        from quotebot.settings import Settings

        index_dir = Settings().index_dir
    engine = _engines.setdefault(index_dir.resolve(), Engine(index_dir))
    return engine.answer(question, k)
