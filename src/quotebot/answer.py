"""Choosing what to quote, and deciding whether the articles answer at all."""

from __future__ import annotations

import re
import threading
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from quotebot import embedding, store
from quotebot.passages import split_sentences
from quotebot.search import Hit, search

DEFAULT_K = 5
# Below this cosine between question and best sentence, nothing answers.
FOUND_THRESHOLD = 0.35
_WORD = re.compile(r"[A-Za-z0-9]+")
_STOPWORDS = frozenset(
    """
    a an and are as at be by did do does for from had has have how i in is it its of on or that
    the their there this to was were what when where which who whom whose why will with you
    your
    """.split()
)


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


def terms(text: str) -> set[str]:
    """The content words of a text, lower-cased."""
    return {w for w in _WORD.findall(text.lower()) if w not in _STOPWORDS}


def choose_quote(question: str, hit: Hit) -> tuple[str, float]:
    """The sentence of the passage that best answers the question, and its score."""
    text = hit.passage.text
    spans = split_sentences(text)
    sentences = [text[start:end] for start, end in spans]
    vectors = embedding.encode([question, *sentences])
    cosines = vectors[1:] @ vectors[0]
    wanted = terms(question)
    overlap = np.array([len(wanted & terms(s)) / len(wanted) if wanted else 0.0 for s in sentences])
    best = int(np.argmax(cosines + 0.3 * overlap))
    return sentences[best], float(cosines[best])


def answer_with(index: store.Index, question: str, k: int = DEFAULT_K) -> Answer:
    """Answer a question from an opened index."""
    question = " ".join(question.split())
    if not question:
        raise ValueError("the question is empty")
    hits = search(index, question, k)
    if not hits:
        return Answer(question, found=False, passages=hits)
    quote, confidence = choose_quote(question, hits[0])
    if confidence < FOUND_THRESHOLD:
        return Answer(question, found=False, passages=hits)
    return Answer(question, found=True, answer=quote, quote=quote, passages=hits)


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
        """The live index, reopened when a new version has gone live."""
        live = store.current_version(self.index_dir)
        with self._lock:
            if self._index is None or (live is not None and live != self._index.path):
                self._index = store.open_index(self.index_dir)
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
