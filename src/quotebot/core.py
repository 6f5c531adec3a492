"""The one core every front end answers through: open the live index, follow it as it
changes, and answer a question (retrieval, then the reader, the quote and the decision)."""

from __future__ import annotations

import calendar
import logging
import threading
import time
from pathlib import Path

import numpy as np

from quotebot import storage
from quotebot.answering import READ_PASSAGES, read, reader
from quotebot.answering.decision import evidence_features, fitted_threshold, logistic
from quotebot.answering.quote import quote_around
from quotebot.indexing import Progress, Report, add, build, embedding, remove
from quotebot.records import Answer
from quotebot.retrieval import rank
from quotebot.storage import (
    AnyIndex,
    Index,
    IndexLocked,
    Location,
    StoreError,
    current_version,
    has_index,
    open_index,
    open_live,
    postgres,
)
from quotebot.storage.postgres import Database, SharedLimiter, SharedMemory

__all__ = [
    "DEFAULT_K",
    "Answer",
    "AnyIndex",
    "Database",
    "Engine",
    "Index",
    "IndexLocked",
    "Location",
    "Progress",
    "Report",
    "SharedLimiter",
    "SharedMemory",
    "StoreError",
    "add",
    "answer",
    "answer_with",
    "build",
    "current_version",
    "has_index",
    "location",
    "needs_indexing",
    "open_index",
    "open_live",
    "question_limiter",
    "question_memory",
    "remove",
    "size_on_disk",
]

log = logging.getLogger(__name__)

DEFAULT_K = 5


def answer_with(
    index: storage.AnyIndex,
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


class Engine:
    """Answers questions from the live index at one location (a folder or a database),
    following it as it changes.

    Before each question it checks (one small file read, or one small query) whether a new
    version went live, and opens it; questions already running finish on the version they
    began with.
    """

    def __init__(self, location: storage.Location, show_threshold: float | None = None) -> None:
        """Args:
        location: The index folder, or the database (``storage.postgres.Database``).
        show_threshold: The answer confidence at which short answers are shown; defaults to
            the ``QUOTEBOT_ANSWER_THRESHOLD`` setting, else the fitted threshold.
        """
        if show_threshold is None:
            from quotebot.settings import Settings

            show_threshold = Settings().answers.answer_threshold
        self.show_threshold = show_threshold
        self.location = location
        self._lock = threading.Lock()
        self._index: storage.AnyIndex | None = None
        self._refused: str | None = None  # a version that would not open; tried once

    @property
    def index(self) -> storage.AnyIndex:
        """The live index, reopened when a new version has gone live (or the connection to
        the database was lost). Should the new version fail to open, the one already open
        keeps answering.
        """
        live = storage.live_version(self.location)
        with self._lock:
            current = self._index
            if current is None or getattr(current, "broken", False):
                current = self._index = storage.open_live(self.location, embedding.MODEL)
            elif live is not None and live not in (current.version, self._refused):
                try:
                    current = self._index = storage.open_live(self.location, embedding.MODEL)
                except storage.StoreError as error:
                    self._refused = live
                    log.warning("still answering from %s: %s", current.where, error)
            return current

    def answer(self, question: str, k: int = DEFAULT_K) -> Answer:
        """Answer one question; see :func:`answer_with`."""
        return answer_with(self.index, question, k, show_threshold=self.show_threshold)


_engines: dict[str, Engine] = {}


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
        storage.StoreError: there is no usable index.
    """
    where = location(index_dir)
    key = str(where.resolve()) if isinstance(where, Path) else where.url
    engine = _engines.setdefault(key, Engine(where))
    return engine.answer(question, k)


def location(index_dir: Path | None = None, database_url: str | None = None) -> Location:
    """Where the index is: the database given (or ``QUOTEBOT_DATABASE_URL``), else the folder
    given (or ``QUOTEBOT_INDEX_DIR``)."""
    from quotebot.settings import Settings

    settings = Settings()
    url = database_url or settings.storage.database_url
    if url:
        return Database(url)
    return index_dir if index_dir is not None else settings.paths.index_dir


def needs_indexing(where: Location, articles_dir: Path) -> bool:
    """Whether there is no index yet, or a file under ``articles_dir`` changed since the
    live version was written (what ``quotebot run`` checks before it starts)."""
    if not storage.has_index(where):
        return True
    newest = max((p.stat().st_mtime for p in articles_dir.rglob("*") if p.is_file()), default=0)
    if isinstance(where, Database):
        created = storage.open_live(where).manifest.created_at
        written = calendar.timegm(time.strptime(created, "%Y-%m-%dT%H:%M:%SZ"))
        return newest > written
    version = storage.current_version(where)
    return version is None or newest > version.stat().st_mtime


def size_on_disk(where: Location) -> int:
    """Bytes the live index takes: its version folder, or its tables in the database."""
    if isinstance(where, Database):
        return postgres.size_on_disk(where)
    version = storage.current_version(where)
    if version is None:
        return 0
    return sum(f.stat().st_size for f in version.rglob("*") if f.is_file())


def question_limiter(where: Location, per_minute: int) -> SharedLimiter | None:
    """The per-user question limit shared by every replica of the bot when the index lives
    in a database (None: keep it in the process)."""
    if isinstance(where, Database):
        return SharedLimiter(where, per_minute)
    return None


def question_memory(where: Location, keep: int) -> SharedMemory | None:
    """Where the bot remembers which question each answer answers, shared by every replica
    when the index lives in a database (None: in the process)."""
    return SharedMemory(where, keep) if isinstance(where, Database) else None
