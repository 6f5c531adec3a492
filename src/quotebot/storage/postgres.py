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
computed as bm25s computes them, so the keyword half scores the same) and ``quotebot_terms``.
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import numpy as np

from quotebot.records import Article, ArticleInfo, Passage
from quotebot.storage.keywords import tokenize
from quotebot.storage.versions import StoreError

log = logging.getLogger(__name__)

SCHEMA = 1
"""The tables' layout; an index of another is refused with what to run."""
LOCK_KEY = 7_202_612  # the advisory lock every writer of the index takes
HNSW_SEARCH_DEPTH = 100  # hnsw.ef_search
K1, B = 1.5, 0.75  # bm25s's defaults ("lucene")

_TABLES = """
CREATE TABLE IF NOT EXISTS quotebot_meta (key text PRIMARY KEY, value text NOT NULL);
CREATE TABLE IF NOT EXISTS quotebot_versions (
    version bigint PRIMARY KEY, manifest jsonb NOT NULL, created_at timestamptz DEFAULT now()
);
CREATE TABLE IF NOT EXISTS quotebot_articles (
    version bigint NOT NULL, position int NOT NULL, id text NOT NULL, title text NOT NULL,
    url text, published text, source text, paragraphs jsonb NOT NULL, hash text NOT NULL,
    PRIMARY KEY (version, position)
);
CREATE TABLE IF NOT EXISTS quotebot_passages (
    version bigint NOT NULL, row int NOT NULL, article_id text NOT NULL, paragraph int NOT NULL,
    part int NOT NULL, text text NOT NULL, hash text NOT NULL, embedding halfvec({dimension}),
    PRIMARY KEY (version, row)
);
CREATE INDEX IF NOT EXISTS quotebot_passages_embedding
    ON quotebot_passages USING hnsw (embedding halfvec_cosine_ops);
CREATE TABLE IF NOT EXISTS quotebot_postings (
    version bigint NOT NULL, term text NOT NULL, row int NOT NULL, weight real NOT NULL,
    PRIMARY KEY (version, term, row)
);
CREATE TABLE IF NOT EXISTS quotebot_terms (
    version bigint NOT NULL, term text NOT NULL, df int NOT NULL, PRIMARY KEY (version, term)
);
"""
_DATA_TABLES = ("quotebot_articles", "quotebot_passages", "quotebot_postings", "quotebot_terms")


@dataclass(frozen=True)
class Database:
    """Where the index lives when it lives in PostgreSQL: a libpq URL."""

    url: str

    def __str__(self) -> str:
        """The database as messages name it: host, port and name, never the password."""
        parts = urlsplit(self.url)
        host = parts.hostname or _query_host(parts.query) or "localhost"
        port = f":{parts.port}" if parts.port else ""
        name = parts.path.lstrip("/") or "postgres"
        return f"the database {name} on {host}{port}"


def _query_host(query: str) -> str:
    for pair in query.split("&"):
        key, _, value = pair.partition("=")
        if key == "host":
            return value
    return ""


def connect(database: Database, autocommit: bool = False) -> Any:
    """A connection, or one line naming the host (never the password) when it fails."""
    import psycopg

    try:
        connection = psycopg.connect(database.url, autocommit=autocommit, connect_timeout=10)
    except psycopg.Error as error:
        raise StoreError(f"cannot connect to {database}: {_reason(error, database)}") from None
    return connection


def _reason(error: Exception, database: Database) -> str:
    """The first line of a driver error, with the URL's password taken out."""
    text = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    password = urlsplit(database.url).password
    if password:
        text = text.replace(password, "***")
    return text.removeprefix("connection failed: ")


def _ensure_schema(connection: Any, database: Database, dimension: int) -> None:
    """Create the tables (and the vector extension) when missing; refuse another schema."""
    try:
        connection.execute("CREATE EXTENSION IF NOT EXISTS vector")
    except Exception as error:  # noqa: BLE001  (the driver's error for a missing extension)
        raise StoreError(
            f"cannot use pgvector (the vector extension) in {database}: "
            f"{_reason(error, database)}; install it on the server and run `CREATE EXTENSION "
            "vector` in the database as a superuser (or ask its administrator to)"
        ) from None
    connection.execute(_TABLES.format(dimension=int(dimension)))
    schema = _meta(connection, "schema")
    if schema is None:
        connection.execute(
            "INSERT INTO quotebot_meta VALUES ('schema', %s) ON CONFLICT DO NOTHING", (SCHEMA,)
        )
        return
    _check_schema(int(schema), database)


def _check_schema(schema: int, database: Database) -> None:
    if schema > SCHEMA:
        raise StoreError(
            f"the index in {database} was written by a newer quotebot (schema {schema}); "
            "upgrade quotebot"
        )
    if schema < SCHEMA:
        raise StoreError(
            f"the index in {database} has an older schema ({schema}); run "
            "`quotebot index build` to rebuild it in the current one"
        )


def _meta(connection: Any, key: str) -> str | None:
    row = connection.execute("SELECT value FROM quotebot_meta WHERE key = %s", (key,)).fetchone()
    return None if row is None else str(row[0])


_checkers: dict[str, Any] = {}  # one connection per database for the check before a question


def live_version(database: Database) -> str | None:
    """The live version's number, or None when the database holds no index yet (one small
    query on a connection kept for it, opened again when the server dropped it)."""
    import psycopg

    for attempt in (1, 2):
        connection = _checkers.get(database.url)
        if connection is None or connection.closed or connection.broken:
            connection = _checkers[database.url] = connect(database, autocommit=True)
        try:
            return _live(connection)
        except psycopg.OperationalError as error:
            if attempt == 2:
                raise StoreError(f"cannot reach {database}: {_reason(error, database)}") from None
    return None


def _live(connection: Any) -> str | None:
    import psycopg

    try:
        return _meta(connection, "live")
    except psycopg.errors.UndefinedTable:  # no tables yet: no index
        return None


class PostgresIndex:
    """One opened version of the index in PostgreSQL (the interface of a version folder)."""

    def __init__(self, database: Database, model: tuple[str, int] | None = None) -> None:
        from quotebot.storage import Manifest, check_model

        self.database = database
        self._connection = connect(database, autocommit=True)
        try:
            version = _live(self._connection)
            if version is None:
                raise StoreError(f"no index in {database}; build one with `quotebot index build`")
            schema = _meta(self._connection, "schema")
            _check_schema(int(schema or 0), database)
            (manifest,) = self._connection.execute(
                "SELECT manifest FROM quotebot_versions WHERE version = %s", (int(version),)
            ).fetchone()
        except StoreError:
            self._connection.close()
            raise
        except Exception as error:  # noqa: BLE001  (a database without quotebot's tables)
            self._connection.close()
            raise StoreError(
                f"{database} holds no quotebot index ({_reason(error, database)}); "
                "build one with `quotebot index build`"
            ) from None
        self._version = int(version)
        self.manifest = Manifest.from_dict(manifest)
        check_model(str(database), self.manifest, model)
        self._tune()
        self._frequencies: dict[str, int] | None = None
        self.broken = False  # the connection was lost: the Engine opens the index again

    @property
    def where(self) -> str:
        return str(self.database)

    @property
    def version(self) -> str:
        return str(self._version)

    def __len__(self) -> int:
        return self.manifest.passages

    def _rows(self, sql: str, **params: Any) -> list[Any]:
        """The rows of a query of this version (``%(version)s``), or one line on failure;
        a connection lost (the server restarted) is opened again once."""
        for attempt in (1, 2):
            try:
                cursor = self._connection.execute(sql, {"version": self._version, **params})
                return list(cursor.fetchall())
            except Exception as error:  # noqa: BLE001  (the driver's errors: one line)
                lost = self._connection.closed or self._connection.broken
                if lost and attempt == 1:
                    with contextlib.suppress(StoreError):
                        self._connect()
                        continue
                self.broken = lost
                reason = _reason(error, self.database)
                raise StoreError(f"reading {self.database} failed: {reason}") from None
        raise AssertionError("unreachable")

    def _connect(self) -> None:
        self._connection = connect(self.database, autocommit=True)
        self._tune()

    def _tune(self) -> None:
        self._connection.execute(f"SET hnsw.ef_search = {HNSW_SEARCH_DEPTH}")
        self._connection.execute("SET hnsw.iterative_scan = relaxed_order")

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
            int(row): _parse_vector(text)
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

    def close(self) -> None:
        self._connection.close()


@contextmanager
def writer(database: Database, dimension: int) -> Iterator[Any]:
    """A transaction holding the index's advisory lock: what is written in it goes live
    together when the block ends, or not at all (an error, a kill, a lost connection).

    Another writer waits its turn, and says so. The tables are created (or their schema
    checked) under the lock, so two first writers do not race to create them.
    """
    connection = connect(database)
    try:
        with connection.transaction():
            (got,) = connection.execute(
                "SELECT pg_try_advisory_xact_lock(%s)", (LOCK_KEY,)
            ).fetchone()
            if not got:
                start = time.monotonic()
                log.warning("waiting for another writer of the index in %s", database)
                connection.execute("SELECT pg_advisory_xact_lock(%s)", (LOCK_KEY,))
                log.info("waited %.1f s", time.monotonic() - start)
            _ensure_schema(connection, database, dimension)
            yield connection
    except StoreError:
        raise
    except Exception as error:
        import psycopg

        if isinstance(error, psycopg.Error):
            raise StoreError(
                f"the index in {database} was not changed: {_reason(error, database)}"
            ) from None
        raise
    finally:
        connection.close()


def write_version(
    connection: Any,
    articles: Sequence[Article],
    passages: Sequence[Passage],
    vectors: np.ndarray,
    manifest: dict[str, Any],
) -> str:
    """Write a complete new version in the writer's transaction and make it live with it;
    versions older than the one it replaces are deleted. Returns the new version's number."""
    (latest,) = connection.execute(
        "SELECT coalesce(max(version), 0) FROM quotebot_versions"
    ).fetchone()
    version = int(latest) + 1
    connection.execute(
        "INSERT INTO quotebot_versions (version, manifest) VALUES (%s, %s)",
        (version, json.dumps(manifest)),
    )
    with connection.cursor() as cursor:
        with cursor.copy(
            "COPY quotebot_articles (version, position, id, title, url, published, source, "
            "paragraphs, hash) FROM STDIN"
        ) as copy:
            for position, a in enumerate(articles):
                copy.write_row(
                    (version, position, a.id, a.title, a.url, a.published, a.source,
                     json.dumps(list(a.paragraphs)), a.content_hash)
                )  # fmt: skip
        with cursor.copy(
            "COPY quotebot_passages (version, row, article_id, paragraph, part, text, hash, "
            "embedding) FROM STDIN"
        ) as copy:
            for row, (p, vector) in enumerate(zip(passages, vectors, strict=True)):
                copy.write_row(
                    (version, row, p.article_id, p.paragraph, p.part, p.text, p.content_hash,
                     vector_text(vector))
                )  # fmt: skip
        postings, frequencies = _bm25([p.embedding_text for p in passages])
        with cursor.copy("COPY quotebot_postings (version, term, row, weight) FROM STDIN") as copy:
            for term, row, weight in postings:
                copy.write_row((version, term, row, weight))
        with cursor.copy("COPY quotebot_terms (version, term, df) FROM STDIN") as copy:
            for term, df in frequencies.items():
                copy.write_row((version, term, df))
    connection.execute(
        "INSERT INTO quotebot_meta VALUES ('live', %s) "
        "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        (str(version),),
    )
    for table in (*_DATA_TABLES, "quotebot_versions"):
        connection.execute(f"DELETE FROM {table} WHERE version < %s", (version - 1,))  # noqa: S608
    connection.execute("SELECT pg_notify('quotebot_index', %s)", (str(version),))
    return str(version)


def _bm25(texts: list[str]) -> tuple[list[tuple[str, int, float]], dict[str, int]]:
    """Each term's weight in each passage, as bm25s ("lucene", k1 1.5, b 0.75) scores it:
    idf · tf / (tf + k1 · (1 − b + b · length / average length))."""
    documents = [Counter(tokens) for tokens in tokenize(texts)]
    lengths = [sum(d.values()) for d in documents]
    average = (sum(lengths) / len(lengths)) if lengths else 1.0
    frequencies: Counter[str] = Counter()
    for document in documents:
        frequencies.update(document.keys())
    n = len(documents)
    idf = {t: math.log(1 + (n - df + 0.5) / (df + 0.5)) for t, df in frequencies.items()}
    postings = []
    for row, (document, length) in enumerate(zip(documents, lengths, strict=True)):
        norm = K1 * (1 - B + B * length / (average or 1.0))
        for term, tf in document.items():
            postings.append((term, row, float(np.float32(idf[term] * tf / (tf + norm)))))
    return postings, dict(frequencies)


def vector_text(vector: np.ndarray) -> str:
    """A vector as pgvector reads it, ``[0.1,0.2,...]``."""
    return "[" + ",".join(f"{float(x):.6g}" for x in np.asarray(vector).ravel()) + "]"


def _parse_vector(text: str) -> np.ndarray:
    return np.array([float(x) for x in text.strip("[]").split(",")], dtype=np.float32)


def size_on_disk(database: Database) -> int:
    """Bytes the index's tables (and their indexes) take in the database."""
    with connect(database, autocommit=True) as connection:
        (size,) = connection.execute(
            "SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0) FROM pg_class c "
            "WHERE c.relname LIKE 'quotebot_%%' AND c.relkind = 'r'"
        ).fetchone()
    return int(size)


class SharedLimiter:
    """The bot's per-user question limit kept in the database, so that it holds across
    every replica of the bot: at most ``per_minute`` questions per user in any 60 seconds,
    the user told once per full window (the contract of the in-process limiter)."""

    WINDOW = 60.0

    def __init__(self, database: Database, per_minute: int) -> None:
        self.database = database
        self.per_minute = per_minute
        self._connection: Any = None

    def allow(self, user_id: int) -> tuple[bool, float, bool]:
        """Record a question; (allowed, seconds to wait, whether to tell the user)."""
        if self.per_minute <= 0:
            return True, 0.0, False
        try:
            return self._allow(user_id)
        except StoreError:
            raise
        except Exception as error:  # noqa: BLE001  (a lost connection: open one next time)
            self._connection = None
            raise StoreError(
                f"cannot reach {self.database}: {_reason(error, self.database)}"
            ) from None

    def _allow(self, user_id: int) -> tuple[bool, float, bool]:
        if self._connection is None or self._connection.closed:
            self._connection = connect(self.database, autocommit=True)
            self._connection.execute(
                "CREATE TABLE IF NOT EXISTS quotebot_questions "
                "(user_id bigint NOT NULL, at double precision NOT NULL)"
            )
            self._connection.execute(
                "CREATE TABLE IF NOT EXISTS quotebot_question_warnings "
                "(user_id bigint PRIMARY KEY, at double precision NOT NULL)"
            )
        connection = self._connection
        with connection.transaction():
            connection.execute("SELECT pg_advisory_xact_lock(%s, %s)", (LOCK_KEY, user_id % 2**31))
            (now,) = connection.execute("SELECT extract(epoch FROM clock_timestamp())").fetchone()
            now = float(now)
            connection.execute(
                "DELETE FROM quotebot_questions WHERE user_id = %s AND at <= %s",
                (user_id, now - self.WINDOW),
            )
            asked = [
                float(at)
                for (at,) in connection.execute(
                    "SELECT at FROM quotebot_questions WHERE user_id = %s ORDER BY at", (user_id,)
                ).fetchall()
            ]
            if len(asked) < self.per_minute:
                connection.execute("INSERT INTO quotebot_questions VALUES (%s, %s)", (user_id, now))
                connection.execute(
                    "DELETE FROM quotebot_question_warnings WHERE user_id = %s", (user_id,)
                )
                return True, 0.0, False
            told = connection.execute(
                "INSERT INTO quotebot_question_warnings VALUES (%s, %s) "
                "ON CONFLICT (user_id) DO NOTHING RETURNING user_id",
                (user_id, now),
            ).fetchone()
            return False, self.WINDOW - (now - asked[0]), told is not None


class _KeptConnection:
    """A connection kept for the bot's small shared tables (``TABLES``, created on first
    use), opened again when the server dropped it; the newest ``keep`` rows are kept."""

    TABLES: tuple[str, ...] = ()

    def __init__(self, database: Database, keep: int) -> None:
        self.database = database
        self.keep = keep
        self._connection: Any = None

    def _open(self) -> Any:
        if self._connection is None or self._connection.closed or self._connection.broken:
            self._connection = connect(self.database, autocommit=True)
            for table in self.TABLES:
                self._connection.execute(table)
        return self._connection


class SharedMemory(_KeptConnection):
    """Which question each of the bot's answer messages answers (for its "More sources"
    button), kept in the database so that any replica can page on from any other's
    answer; the newest ``keep`` are kept."""

    TABLES = (
        "CREATE TABLE IF NOT EXISTS quotebot_bot_questions (chat_id bigint NOT NULL, "
        "message_id bigint NOT NULL, question text NOT NULL, "
        "at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (chat_id, message_id))",
    )

    def remember(self, chat_id: int, message_id: int, question: str) -> None:
        try:
            connection = self._open()
            connection.execute(
                "INSERT INTO quotebot_bot_questions (chat_id, message_id, question) "
                "VALUES (%s, %s, %s) ON CONFLICT (chat_id, message_id) "
                "DO UPDATE SET question = excluded.question, at = now()",
                (chat_id, message_id, question),
            )
            connection.execute(
                "DELETE FROM quotebot_bot_questions WHERE at < (SELECT at FROM "
                "quotebot_bot_questions ORDER BY at DESC OFFSET %s LIMIT 1)",
                (self.keep,),
            )
        except Exception as error:  # noqa: BLE001  (a convenience: the reply still carries it)
            log.warning("could not remember the question in %s: %s", self.database,
                        _reason(error, self.database))  # fmt: skip

    def get(self, key: tuple[int, int]) -> str | None:
        try:
            row = (
                self._open()
                .execute(
                    "SELECT question FROM quotebot_bot_questions WHERE chat_id = %s "
                    "AND message_id = %s",
                    key,
                )
                .fetchone()
            )
        except Exception as error:  # noqa: BLE001
            log.warning("could not look the question up in %s: %s", self.database,
                        _reason(error, self.database))  # fmt: skip
            return None
        return None if row is None else str(row[0])


class SharedConversations(_KeptConnection):
    """The bot's conversations (their last turns, as JSON) and which conversation each of its
    answer messages belongs to, kept in the database so that a follow-up sent to any replica
    leans on the turn another replica answered; the newest ``keep`` of each are kept."""

    TABLES = (
        "CREATE TABLE IF NOT EXISTS quotebot_bot_conversations (key text PRIMARY KEY, "
        "turns text NOT NULL, at timestamptz NOT NULL DEFAULT now())",
        "CREATE TABLE IF NOT EXISTS quotebot_bot_threads (chat_id bigint NOT NULL, "
        "message_id bigint NOT NULL, key text NOT NULL, "
        "at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (chat_id, message_id))",
    )

    def _run(self, what: str, sql: str, *params: Any) -> Any:
        """One statement; a failure is a warning (a conversation is a convenience)."""
        try:
            return self._open().execute(sql, params)
        except Exception as error:  # noqa: BLE001
            log.warning("could not %s in %s: %s", what, self.database,
                        _reason(error, self.database))  # fmt: skip
            return None

    def turns(self, key: str) -> str | None:
        """The conversation's turns as JSON, or None for a new one."""
        done = self._run("read the conversation", "SELECT turns FROM quotebot_bot_conversations "
                         "WHERE key = %s", key)  # fmt: skip
        row = done.fetchone() if done is not None else None
        return None if row is None else str(row[0])

    def save(self, key: str, turns: str) -> None:
        self._run("keep the conversation", "INSERT INTO quotebot_bot_conversations (key, turns) "
                  "VALUES (%s, %s) ON CONFLICT (key) DO UPDATE SET turns = excluded.turns, "
                  "at = now()", key, turns)  # fmt: skip
        self._run("trim the conversations", "DELETE FROM quotebot_bot_conversations WHERE at < "
                  "(SELECT at FROM quotebot_bot_conversations ORDER BY at DESC OFFSET %s LIMIT 1)",
                  self.keep)  # fmt: skip

    def link(self, chat_id: int, message_id: int, key: str) -> None:
        """Remember that an answer message belongs to a conversation."""
        self._run("link the answer to its conversation", "INSERT INTO quotebot_bot_threads "
                  "(chat_id, message_id, key) VALUES (%s, %s, %s) ON CONFLICT (chat_id, "
                  "message_id) DO UPDATE SET key = excluded.key, at = now()",
                  chat_id, message_id, key)  # fmt: skip
        self._run("trim the threads", "DELETE FROM quotebot_bot_threads WHERE at < (SELECT at "
                  "FROM quotebot_bot_threads ORDER BY at DESC OFFSET %s LIMIT 1)",
                  self.keep)  # fmt: skip

    def thread(self, chat_id: int, message_id: int) -> str | None:
        """The conversation an answer message belongs to."""
        done = self._run("look the conversation up", "SELECT key FROM quotebot_bot_threads "
                         "WHERE chat_id = %s AND message_id = %s", chat_id, message_id)  # fmt: skip
        row = done.fetchone() if done is not None else None
        return None if row is None else str(row[0])
