"""One opened version of the index in PostgreSQL, and the check before each question for a
newer one."""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Sequence
from typing import Any

import numpy as np

from quotebot.records import Article, ArticleInfo, Passage
from quotebot.storage.postgres.connection import Conninfo, reason
from quotebot.storage.postgres.kept import KeptConnection
from quotebot.storage.postgres.schema import (
    HNSW_SEARCH_DEPTH,
    READER_RIGHTS,
    check_rights,
    check_schema,
    meta,
)
from quotebot.storage.protocol import Manifest, Model, StoreError, check_model

log = logging.getLogger(__name__)

_checkers: dict[str, KeptConnection] = {}  # per database, for the check before a question


def live_version(database: Conninfo) -> str | None:
    """The live version's number, or None when the database holds no index yet (one small
    query on a connection kept for it)."""
    import psycopg

    checker = _checkers.setdefault(database.url, KeptConnection(database))
    try:
        return checker._run(live)
    except psycopg.Error as error:
        if isinstance(error, psycopg.errors.InsufficientPrivilege):
            checker._run(lambda connection: check_rights(connection, database, READER_RIGHTS))
        raise StoreError(f"cannot reach {database}: {reason(error, database)}") from None


def live(connection: Any) -> str | None:
    import psycopg

    try:
        return meta(connection, "live")
    except psycopg.errors.UndefinedTable:  # no tables yet: no index
        return None


class PostgresVersion(KeptConnection):
    """One opened version of the index in PostgreSQL (a ``storage.Version``)."""

    def __init__(self, database: Conninfo, model: Model | None = None) -> None:
        super().__init__(database)
        try:
            version, manifest = self._run(self._live_manifest)
        except StoreError:
            self.close()
            raise
        except Exception as error:  # noqa: BLE001  (a database without quotebot's tables)
            self.close()
            raise StoreError(
                f"{database} holds no quotebot index ({reason(error, database)}); "
                "build one with `quotebot index build`"
            ) from None
        self._version = version
        self.manifest = Manifest.from_dict(manifest)
        check_model(str(database), self.manifest, model)
        self._frequencies: dict[str, int] | None = None
        self.broken = False  # the connection was lost for good: the Engine opens it again

    def _live_manifest(self, connection: Any) -> tuple[int, dict[str, Any]]:
        import psycopg

        try:
            version = live(connection)
            if version is None:
                raise StoreError(
                    f"no index in {self.database}; build one with `quotebot index build`"
                )
            check_schema(int(meta(connection, "schema") or 0), self.database)
            (manifest,) = connection.execute(
                "SELECT manifest FROM quotebot_versions WHERE version = %s", (int(version),)
            ).fetchone()
        except psycopg.errors.InsufficientPrivilege:
            check_rights(connection, self.database, READER_RIGHTS)
            raise
        return int(version), manifest

    def _setup(self, connection: Any) -> None:
        connection.execute(f"SET hnsw.ef_search = {HNSW_SEARCH_DEPTH}")
        connection.execute("SET hnsw.iterative_scan = relaxed_order")

    @property
    def where(self) -> str:
        return str(self.database)

    @property
    def version(self) -> str:
        return str(self._version)

    def __len__(self) -> int:
        return self.manifest.passages

    def _rows(self, sql: str, **params: Any) -> list[Any]:
        """The rows of a query of this version (``%(version)s``), or one line on failure."""
        import psycopg

        values = {"version": self._version, **params}
        try:
            return self._run(lambda connection: list(connection.execute(sql, values).fetchall()))
        except StoreError:
            self.broken = True
            raise
        except psycopg.Error as error:
            self.broken = self._connection is None or self._connection.broken
            why = reason(error, self.database)
            raise StoreError(f"reading {self.database} failed: {why}") from None

    def nearest(self, vector: np.ndarray, k: int) -> list[tuple[int, float]]:
        if k <= 0 or not len(self):
            return []
        rows = self._rows(
            "SELECT row, 1 - (embedding <=> %(q)s::halfvec) FROM quotebot_passages "
            "WHERE version = %(version)s ORDER BY embedding <=> %(q)s::halfvec LIMIT %(k)s",
            q=vector_text(vector),
            k=k,
        )
        return [(int(r), float(c)) for r, c in rows]

    def vectors_of(self, rows: Sequence[int] | np.ndarray) -> np.ndarray:
        wanted = [int(r) for r in rows]
        found = {
            int(row): parse_vector(text)
            for row, text in self._rows(
                "SELECT row, embedding::text FROM quotebot_passages "
                "WHERE version = %(version)s AND row = ANY(%(rows)s)",
                rows=wanted,
            )
        }
        out = np.zeros((len(wanted), self.manifest.dimension), dtype=np.float32)
        for i, row in enumerate(wanted):
            out[i] = found[row]
        return out

    def keyword_scores(self, tokens: list[str]) -> np.ndarray:
        scores = np.zeros(len(self), dtype=np.float32)
        counts = Counter(tokens)  # a term asked twice counts twice, as in bm25s
        if not counts:
            return scores
        for row, score in self._rows(
            "SELECT p.row, sum(p.weight * q.n) FROM quotebot_postings p "
            "JOIN unnest(%(terms)s::text[], %(counts)s::int[]) AS q(term, n) ON p.term = q.term "
            "WHERE p.version = %(version)s GROUP BY p.row",
            terms=list(counts),
            counts=list(counts.values()),
        ):
            scores[int(row)] = float(score)
        return scores

    def document_frequency(self, term: str) -> int:
        if self._frequencies is None:
            self._frequencies = {
                str(t): int(df)
                for t, df in self._rows(
                    "SELECT term, df FROM quotebot_terms WHERE version = %(version)s"
                )
            }
        return self._frequencies.get(term, 0)

    def passages(self, rows: Sequence[int]) -> list[Passage]:
        if not rows:
            return []
        found = {
            int(row): Passage(article_id, paragraph, text, title, url, published, part)
            for row, article_id, paragraph, part, text, title, url, published in self._rows(
                "SELECT p.row, p.article_id, p.paragraph, p.part, p.text, a.title, a.url, "
                "a.published FROM quotebot_passages p JOIN quotebot_articles a "
                "ON a.version = p.version AND a.id = p.article_id "
                "WHERE p.version = %(version)s AND p.row = ANY(%(rows)s)",
                rows=[int(r) for r in rows],
            )
        }
        return [found[int(row)] for row in rows]

    def all_passages(self) -> list[Passage]:
        return self.passages(list(range(len(self))))

    def read_articles(self) -> list[Article]:
        return [
            Article(id, title, tuple(paragraphs), url, published, source or "")
            for id, title, url, published, source, paragraphs in self._rows(
                "SELECT id, title, url, published, source, paragraphs FROM quotebot_articles "
                "WHERE version = %(version)s ORDER BY position"
            )
        ]

    def articles(self) -> list[ArticleInfo]:
        return [
            ArticleInfo(id, title, url, published, source, int(count), hash)
            for id, title, url, published, source, count, hash in self._rows(
                "SELECT id, title, url, published, source, jsonb_array_length(paragraphs), hash "
                "FROM quotebot_articles WHERE version = %(version)s ORDER BY position"
            )
        ]

    def rows_by_hash(self) -> dict[str, int]:
        return {
            str(h): int(r)
            for h, r in self._rows(
                "SELECT hash, row FROM quotebot_passages WHERE version = %(version)s"
            )
        }


def vector_text(vector: np.ndarray) -> str:
    """A vector as pgvector reads it, ``[0.1,0.2,...]``."""
    return "[" + ",".join(f"{float(x):.6g}" for x in np.asarray(vector).ravel()) + "]"


def parse_vector(text: str) -> np.ndarray:
    return np.array([float(x) for x in text.strip("[]").split(",")], dtype=np.float32)
