"""Choosing what to quote, and deciding whether the articles answer at all."""

from __future__ import annotations

import logging
import re
import threading
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from quotebot import evidence, keywords, store
from quotebot.search import Hit, Mode, Ranking, rank

log = logging.getLogger(__name__)

DEFAULT_K = 5
_WORD = re.compile(r"\w+")

# How a sentence of the best passage is scored as the quote (its ``evidence`` features);
# fitted on squad_dev8 by scripts/fit_models.py as "this sentence holds the answer".
SENTENCE_WEIGHTS = {"coverage": 5.119, "phrases": 1.837, "typed": 1.486}
# A neighbouring sentence scoring within this of the best joins the quote.
NEIGHBOUR_MARGIN = 2.0
_REFERS_BACK = re.compile(
    r"(It|Its|This|These|Those|They|Their|He|His|She|Her|Such|There|That|The latter)\b"
)

# The decision to answer: a logistic model over the evidence for the best passage, fitted on
# squad_dev8 by scripts/fit_models.py (questions about indexed articles against questions
# about articles left out), its bias set so that ~98% of in-corpus questions are answered.
FOUND_WEIGHTS = {"score": 1.441, "margin": 0.037, "dense": 3.255, "sentence": -2.082}
FOUND_BIAS = -13.883
# When a question asks how many or how much and the quote holds no number, the passage does
# not say. (Not "who", "when" or "how long": those are often answered in words, "the
# Normans", "at noon", "after the war".)
MUST_HOLD_SPAN = frozenset({evidence.NUMBER})


@dataclass(frozen=True)
class Answer:
    """The reply to one question: what to say, the words quoted, and where they come from.

    ``quote`` is an exact substring of the best passage; ``answer`` an exact substring of
    ``quote``, starting at ``answer_start`` within it.
    """

    question: str
    found: bool
    answer: str = ""
    quote: str = ""
    answer_start: int = 0
    passages: list[Hit] = field(default_factory=list)

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
            "quote": self.quote,
            "passages": [
                {
                    **{key: value for key, value in asdict(hit.passage).items()},
                    "score": round(hit.score, 4),
                }
                for hit in self.passages
            ],
        }


def choose_quote(query: evidence.Query, hit: Hit) -> tuple[int, int, evidence.SentenceMatch]:
    """The sentence(s) of the passage that best answer the question: (start, end, best one).

    The best-scoring sentence, joined by a neighbour when the neighbour scores within
    ``NEIGHBOUR_MARGIN`` of it, when the best begins by referring back ("It", "They" ...) to
    the one before, or when only the neighbour holds the kind of thing asked for.
    """
    text = hit.passage.text
    sentences = evidence.match_sentences(query, text)
    scores = [_weigh(SENTENCE_WEIGHTS, sentence_features(s)) for s in sentences]
    i = max(range(len(sentences)), key=scores.__getitem__)
    best = sentences[i]
    neighbours = sorted(
        (j for j in (i - 1, i + 1) if 0 <= j < len(sentences)), key=lambda j: -scores[j]
    )
    joined = next((j for j in neighbours if scores[i] - scores[j] < NEIGHBOUR_MARGIN), None)
    if joined is None and i > 0 and _REFERS_BACK.match(text, best.start):
        joined = i - 1
    if joined is None and not best.typed:
        joined = next((j for j in neighbours if sentences[j].typed), None)
    if joined is None:
        return best.start, best.end, best
    first, last = sentences[min(i, joined)], sentences[max(i, joined)]
    return first.start, last.end, best


def choose_span(
    query: evidence.Query, quote: str, focus: tuple[int, int] | None = None
) -> tuple[str, int]:
    """The shortest part of the quote that answers, and where it starts in the quote.

    For questions that ask for a date, number, quantity, person or place: the span of that
    kind, not already in the question, nearest the question's words, preferring spans in
    ``focus`` (offsets in the quote; default all of it). Otherwise the whole quote.
    """
    low, high = focus or (0, len(quote))
    if query.kind not in evidence.SPAN_PATTERNS:
        return quote, 0
    words = list(_WORD.finditer(quote))
    stems = [keywords.terms(w.group(0)) for w in words]
    anchors = [w.start() for w, s in zip(words, stems, strict=True) if s and s[0] in query.terms]
    asked = query.text.lower()
    best: tuple[float, str, int] | None = None
    for found, found_start in evidence.find_spans(query.kind, quote):
        text, start = _trim(query, found.rstrip(".,;:"), found_start)
        if not text or text.lower() in asked or not keywords.terms(text):
            continue
        distance = min((abs(found_start - a) for a in anchors), default=0)
        if not low <= start < high:
            distance += len(quote)
        if best is None or distance < best[0]:
            best = (distance, text, start)
    if best is None:
        return quote, 0
    return best[1], best[2]


def _trim(query: evidence.Query, text: str, start: int) -> tuple[str, int]:
    """A name without the words it shares with the question ("Secretary of Defense Lloyd
    Austin" → "Lloyd Austin" when the question asks who the Secretary of Defense is)."""
    if query.kind not in (evidence.PERSON, evidence.PLACE):
        return text, start
    words = list(re.finditer(r"\S+", text))

    def asked(word: str) -> bool:
        return all(t in query.terms for t in keywords.terms(word))

    while words and asked(words[0].group(0)):
        words.pop(0)
    while words and asked(words[-1].group(0)):
        words.pop()
    if not words:
        return "", start
    return text[words[0].start() : words[-1].end()], start + words[0].start()


def decide(ranking: Ranking, quote: evidence.SentenceMatch) -> float:
    """The decision's score that the articles answer (answer when above 0)."""
    return FOUND_BIAS + _weigh(FOUND_WEIGHTS, decision_features(ranking, quote))


def decision_features(ranking: Ranking, quote: evidence.SentenceMatch) -> dict[str, float]:
    """The evidence the decision weighs about the best passage and its quote."""
    hits = ranking.hits
    top = hits[0]
    return {
        "score": top.score,
        "margin": top.score - hits[1].score if len(hits) > 1 else 1.0,
        "dense": top.dense,
        "sentence": quote.coverage,
    }


def sentence_features(sentence: evidence.SentenceMatch) -> dict[str, float]:
    """What the quote chooser weighs about one sentence."""
    return {
        "coverage": sentence.coverage,
        "phrases": sentence.phrases,
        "typed": float(sentence.typed),
    }


def _weigh(weights: dict[str, float], values: dict[str, float]) -> float:
    return sum(weights[name] * value for name, value in values.items())


def answer_with(
    index: store.Index,
    question: str,
    k: int = DEFAULT_K,
    *,
    mode: Mode = "hybrid",
    vector: np.ndarray | None = None,
) -> Answer:
    """Answer a question from an opened index (``mode`` and ``vector`` as for ``search``).

    The decision not to answer is calibrated on the hybrid mode's scores: the "dense" and
    "keyword" modes, kept for comparison, always answer.
    """
    question = " ".join(question.split())
    if not question:
        raise ValueError("the question is empty")
    ranking = rank(index, question, k, mode=mode, vector=vector)
    hits = ranking.hits
    if not hits:
        return Answer(question, found=False, passages=hits)
    start, end, sentence = choose_quote(ranking.query, hits[0])
    if mode == "hybrid" and decide(ranking, sentence) <= 0:
        return Answer(question, found=False, passages=hits)
    quote = hits[0].passage.text[start:end]
    span, offset = choose_span(ranking.query, quote)
    if span == quote and mode == "hybrid" and ranking.query.kind in MUST_HOLD_SPAN:
        return Answer(question, found=False, passages=hits)
    if span == quote:  # no short span: the best sentence answers
        offset = sentence.start - start
        span = quote[offset : sentence.end - start]
    return Answer(question, True, span, quote, offset, hits)


class Engine:
    """Answers questions from the live index in one folder, following it as it changes.

    Before each question it checks (one small file read) whether a new version went
    live, and opens it; questions already running finish on the version they began with.
    """

    def __init__(self, index_dir: Path) -> None:
        self.index_dir = index_dir
        self._lock = threading.Lock()
        self._index: store.Index | None = None

    @property
    def index(self) -> store.Index:
        """The live index, reopened when a new version has gone live.

        Should the new version fail to open, the one already open keeps answering.
        """
        live = store.current_version(self.index_dir)
        with self._lock:
            if self._index is None:
                self._index = store.open_index(self.index_dir)
            elif live is not None and live != self._index.path:
                try:
                    self._index = store.open_index(self.index_dir)
                except store.StoreError as error:
                    log.warning("still answering from %s: %s", self._index.path, error)
            return self._index

    def answer(self, question: str, k: int = DEFAULT_K) -> Answer:
        """Answer one question; see :func:`answer_with`."""
        return answer_with(self.index, question, k)


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
