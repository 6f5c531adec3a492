"""The whole index in PostgreSQL with pgvector (``QUOTEBOT_DATABASE_URL``), for bots and
writers on several hosts sharing one index.

The same small interface as a version folder: every change writes a complete new version
(rows tagged with its number) in one transaction, under an advisory lock, and makes it live
in the same commit; a reader opens the live version and keeps answering from it until a
newer one is live. The previous version stays (like the spare folder), so a question in
flight when a new version goes live finishes on its rows.

Tables: ``quotebot_meta`` (schema and live version), ``quotebot_versions`` (manifests),
``quotebot_articles``, ``quotebot_passages`` (text, source and a ``halfvec`` embedding under
an HNSW cosine index), ``quotebot_postings`` (BM25 weight of each term in each passage,
computed as bm25s computes them, so the keyword half scores the same) and ``quotebot_terms``;
``quotebot_feeds`` holds the feeds it follows.
"""

from __future__ import annotations

import calendar
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from quotebot.records import Article, Passage
from quotebot.storage.postgres.connection import Conninfo, connect, display_name, redacted, scrub
from quotebot.storage.postgres.index import PostgresVersion, live_version
from quotebot.storage.postgres.kept import KeptConnection
from quotebot.storage.postgres.schema import (
    BOT_RIGHTS,
    BOT_TABLES,
    READER_RIGHTS,
    SCHEMA,
    TABLES,
    WRITER_RIGHTS,
    check_rights,
    create_missing,
)
from quotebot.storage.postgres.subscriptions import DatabaseSubscriptions
from quotebot.storage.postgres.write import size_on_disk, write_version, writer
from quotebot.storage.protocol import Manifest, Model, Version, live_or_none

__all__ = [
    "BOT_RIGHTS",
    "BOT_TABLES",
    "READER_RIGHTS",
    "SCHEMA",
    "TABLES",
    "WRITER_RIGHTS",
    "Conninfo",
    "Database",
    "KeptConnection",
    "PostgresVersion",
    "check_rights",
    "connect",
    "create_missing",
    "display_name",
    "redacted",
    "scrub",
]


@dataclass(frozen=True, repr=False)
class Database(Conninfo):
    """An index kept wholly in a PostgreSQL database with pgvector (a ``storage.Store``):
    a libpq connection string, a URL (``postgresql://user:pass@host/db``) or keyword/value
    (``host=... dbname=...``)."""

    def open(self, model: Model | None = None, *, writing: bool = False) -> PostgresVersion:
        return PostgresVersion(self, model)

    def live_version(self) -> str | None:
        return live_version(self)

    def has_index(self) -> bool:
        return live_version(self) is not None

    @contextmanager
    def changing(self, dimension: int) -> Iterator[DatabaseChange]:
        """A transaction with an advisory lock (another writer waits), committed when the
        block ends."""
        with writer(self, dimension) as connection:
            yield DatabaseChange(self, connection)

    def written_at(self) -> float | None:
        if not self.has_index():
            return None
        created = self.open().manifest.created_at
        return float(calendar.timegm(time.strptime(created, "%Y-%m-%dT%H:%M:%SZ")))

    def size_on_disk(self) -> int:
        return size_on_disk(self)

    def subscriptions(self) -> DatabaseSubscriptions:
        """The table ``quotebot_feeds`` (one connection, kept: hold on to it)."""
        return DatabaseSubscriptions(self)


@dataclass
class DatabaseChange:
    """One change of the index in the database, in the writer's transaction."""

    store: Database
    connection: Any
    notes: list[str] = field(default_factory=list)

    def live(self, model: Model, *, strict: bool) -> Version | None:
        return live_or_none(self.store, model, strict=strict)

    def write(
        self,
        articles: Sequence[Article],
        passages: Sequence[Passage],
        vectors: np.ndarray,
        model: str,
    ) -> str:
        manifest = Manifest.of(model, vectors, len(passages), len(articles), "pgvector-hnsw")
        return write_version(self.connection, articles, passages, vectors, asdict(manifest))
