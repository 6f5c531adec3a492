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
import re
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import quote, urlsplit

import numpy as np

from quotebot.records import Article, ArticleInfo, Passage
from quotebot.storage.versions import StoreError
from quotebot.text import tokenize

log = logging.getLogger(__name__)
T = TypeVar("T")

SCHEMA = 1
"""The tables' layout; an index of another is refused with what to run."""
LOCK_KEY = 7_202_612  # the advisory lock every writer of the index takes
HNSW_SEARCH_DEPTH = 100  # hnsw.ef_search
K1, B = 1.5, 0.75  # bm25s's defaults ("lucene")

TABLES = {
    "quotebot_meta": "CREATE TABLE quotebot_meta (key text PRIMARY KEY, value text NOT NULL)",
    "quotebot_versions": "CREATE TABLE quotebot_versions (version bigint PRIMARY KEY, "
    "manifest jsonb NOT NULL, created_at timestamptz DEFAULT now())",
    "quotebot_articles": "CREATE TABLE quotebot_articles (version bigint NOT NULL, "
    "position int NOT NULL, id text NOT NULL, title text NOT NULL, url text, published text, "
    "source text, paragraphs jsonb NOT NULL, hash text NOT NULL, PRIMARY KEY (version, position))",
    "quotebot_passages": "CREATE TABLE quotebot_passages (version bigint NOT NULL, "
    "row int NOT NULL, article_id text NOT NULL, paragraph int NOT NULL, part int NOT NULL, "
    "text text NOT NULL, hash text NOT NULL, embedding halfvec({dimension}), "
    "PRIMARY KEY (version, row))",
    "quotebot_passages_embedding": "CREATE INDEX quotebot_passages_embedding "
    "ON quotebot_passages USING hnsw (embedding halfvec_cosine_ops)",
    "quotebot_postings": "CREATE TABLE quotebot_postings (version bigint NOT NULL, "
    "term text NOT NULL, row int NOT NULL, weight real NOT NULL, "
    "PRIMARY KEY (version, term, row))",
    "quotebot_terms": "CREATE TABLE quotebot_terms (version bigint NOT NULL, term text NOT NULL, "
    "df int NOT NULL, PRIMARY KEY (version, term))",
    # the bot's shared tables (SharedLimiter, SharedMemory, SharedConversations)
    "quotebot_questions": "CREATE TABLE quotebot_questions "
    "(user_id bigint NOT NULL, at double precision NOT NULL)",
    "quotebot_question_warnings": "CREATE TABLE quotebot_question_warnings "
    "(user_id bigint PRIMARY KEY, at double precision NOT NULL)",
    "quotebot_bot_questions": "CREATE TABLE quotebot_bot_questions (chat_id bigint NOT NULL, "
    "message_id bigint NOT NULL, question text NOT NULL, at timestamptz NOT NULL DEFAULT now(), "
    "PRIMARY KEY (chat_id, message_id))",
    "quotebot_bot_conversations": "CREATE TABLE quotebot_bot_conversations (key text PRIMARY KEY, "
    "turns text NOT NULL, at timestamptz NOT NULL DEFAULT now())",
    "quotebot_bot_threads": "CREATE TABLE quotebot_bot_threads (chat_id bigint NOT NULL, "
    "message_id bigint NOT NULL, key text NOT NULL, at timestamptz NOT NULL DEFAULT now(), "
    "PRIMARY KEY (chat_id, message_id))",
}
"""Every table (and index) quotebot keeps, by name; each is created only when missing, so a
role without CREATE on the schema can use the ones its owner created (docs/postgresql.md)."""
_DATA_TABLES = ("quotebot_articles", "quotebot_passages", "quotebot_postings", "quotebot_terms")
_BOT_TABLES = (
    "quotebot_questions",
    "quotebot_question_warnings",
    "quotebot_bot_questions",
    "quotebot_bot_conversations",
    "quotebot_bot_threads",
)
Rights = dict[str, tuple[str, ...]]
"""The privileges a use needs, by table."""
READER_RIGHTS: Rights = {
    table: ("SELECT",) for table in ("quotebot_meta", "quotebot_versions", *_DATA_TABLES)
}
"""What answering needs: ``quotebot ask``, ``chat``, the bot (which also needs BOT_RIGHTS)."""
WRITER_RIGHTS: Rights = {
    "quotebot_meta": ("SELECT", "INSERT", "UPDATE"),
    "quotebot_versions": ("SELECT", "INSERT", "DELETE"),
    **{table: ("SELECT", "INSERT", "DELETE") for table in _DATA_TABLES},
}
"""What ``quotebot index build / add / remove`` needs on tables that exist."""
BOT_RIGHTS: Rights = {table: ("SELECT", "INSERT", "UPDATE", "DELETE") for table in _BOT_TABLES}
"""What the bot needs on its shared tables (the question limit, memory, conversations)."""


@dataclass(frozen=True)
class Database:
    """Where the index lives when it lives in PostgreSQL: a libpq connection string, a URL
    (``postgresql://user:pass@host/db``) or keyword/value (``host=... dbname=...``)."""

    url: str

    def __str__(self) -> str:
        """The database as messages name it: name, host and port, never the password."""
        return display_name(self.url)

    def __repr__(self) -> str:
        return f"Database({redacted(self.url)!r})"


def _options(url: str) -> dict[str, str] | None:
    """The connection string's options as libpq reads them (None: it cannot be read)."""
    import psycopg
    from psycopg.conninfo import conninfo_to_dict

    try:
        return {key: str(value) for key, value in conninfo_to_dict(url).items()}
    except psycopg.Error:
        return None


def display_name(url: str) -> str:
    """How every message names the database of a connection string (any form libpq reads):
    its name, host and port, never its password; e.g. "the database news on db1:5432"."""
    options = _options(url)
    if options is None:
        return "the database (its connection string cannot be read)"
    host = options.get("host") or options.get("hostaddr") or ""
    port = f":{options['port']}" if options.get("port") else ""
    if options.get("service") and not options.get("dbname"):
        where = f" on {host}{port}" if host else ""
        return f"the database of the service {options['service']}{where}"
    name = options.get("dbname") or options.get("user") or "postgres"
    return f"the database {name} on {host or 'localhost'}{port}"


def redacted(url: str) -> str:
    """The connection string with its password replaced by ``***`` (keyword/value form)."""
    from psycopg.conninfo import make_conninfo

    options = _options(url)
    if options is None:
        return "<a connection string that cannot be read>"
    return make_conninfo(
        "", **{**options, **({"password": "***"} if "password" in options else {})}
    )


_PASSWORD_OPTION = re.compile(r"""(password\s*=\s*)('(?:\\.|[^'\\])*'?|[^\s&]+)""", re.IGNORECASE)
_QUOTED = re.compile(r'"([^"]+)"')


def scrub(text: str, url: str) -> str:
    """A message (the driver's own included) without the connection string's password: its
    value in every spelling the string may hold, any ``password=...``, and, where the string
    cannot be read, every piece of it that libpq quotes back."""
    options = _options(url)
    secrets = set()
    password = (options or {}).get("password", "")
    if password:
        secrets |= {password, quote(password, safe=""), quote(password)}
    with contextlib.suppress(ValueError):
        secrets.add(urlsplit(url).password or "")
    if url.strip():
        text = text.replace(url, display_name(url))
    for secret in sorted(filter(None, secrets), key=len, reverse=True):
        text = text.replace(secret, "***")
    text = _PASSWORD_OPTION.sub(r"\1***", text)
    if options is None:
        text = _QUOTED.sub(lambda m: m[0] if _harmless(m[1], url) else '"***"', text)
    return text


def _harmless(piece: str, url: str) -> bool:
    """Whether libpq may quote this piece of an unreadable connection string back: one
    character ("="), an option's name, or words not in the string at all."""
    from psycopg import pq

    names = {option.keyword.decode() for option in pq.Conninfo.get_defaults()}
    return len(piece) <= 1 or piece in names or piece not in url


def connect(database: Database, autocommit: bool = False) -> Any:
    """A connection, or one line naming the host (never the password) when it fails."""
    import psycopg

    ports = (_options(database.url) or {}).get("port", "").split(",")
    for port in filter(None, (p.strip() for p in ports)):
        if not port.isdigit():
            raise StoreError(
                f"cannot connect to {database}: its port {port!r} is not a number "
                "(check QUOTEBOT_DATABASE_URL or --database-url)"
            )
    try:
        connection = psycopg.connect(database.url, autocommit=autocommit, connect_timeout=10)
    except psycopg.Error as error:
        raise StoreError(f"cannot connect to {database}: {_reason(error, database)}") from None
    return connection


def _reason(error: Exception, database: Database) -> str:
    """The first line of a driver error, without the connection string's password."""
    text = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    for prefix in ("connection failed: ", "connection is bad: "):
        text = text.removeprefix(prefix)
    return scrub(text, database.url)


def _ensure_schema(connection: Any, database: Database, dimension: int) -> None:
    """Create what is missing (the vector extension, the tables, the bot's tables too), check
    the role's rights on them, and refuse another schema; each fault is one line."""
    extension = connection.execute("SELECT 1 FROM pg_extension WHERE extname = 'vector'")
    if extension.fetchone() is None:
        try:
            connection.execute("CREATE EXTENSION IF NOT EXISTS vector")
        except Exception as error:  # noqa: BLE001  (the driver's error for a missing extension)
            raise StoreError(
                f"cannot use pgvector (the vector extension) in {database}: "
                f"{_reason(error, database)}; install it on the server and run `CREATE "
                "EXTENSION vector` in the database as a superuser (or ask its administrator to)"
            ) from None
    create_missing(connection, database, [t for t in TABLES if t not in _BOT_TABLES], dimension)
    with contextlib.suppress(StoreError):  # the bot's tables too, where this role may
        create_missing(connection, database, _BOT_TABLES)
    check_rights(connection, database, WRITER_RIGHTS)
    schema = _meta(connection, "schema")
    if schema is None:
        connection.execute(
            "INSERT INTO quotebot_meta VALUES ('schema', %s) ON CONFLICT DO NOTHING", (SCHEMA,)
        )
        return
    _check_schema(int(schema), database)


def create_missing(
    connection: Any, database: Database, names: Sequence[str], dimension: int = 0
) -> None:
    """Create those of the named tables (and indexes) that do not exist yet; a role that may
    not is told, in one line, which right it lacks."""
    import psycopg

    missing = connection.execute(
        "SELECT n FROM unnest(%s::text[]) AS n WHERE to_regclass(n) IS NULL", (list(names),)
    ).fetchall()
    if not missing:
        return
    user, schema, may = connection.execute(
        "SELECT current_user, current_schema(), has_schema_privilege(current_schema(), 'CREATE')"
    ).fetchone()
    if not may:
        raise StoreError(
            f"the role {user} lacks CREATE on the schema {schema} in {database}, and "
            f"{missing[0][0]} is not there yet: run the first `quotebot index build` as the "
            f"database's owner, or GRANT CREATE ON SCHEMA {schema} TO {user} "
            "(the grants: docs/postgresql.md)"
        )
    for (name,) in missing:
        try:
            connection.execute(TABLES[name].format(dimension=int(dimension)))
        except (psycopg.errors.UniqueViolation, psycopg.errors.DuplicateTable):
            if not connection.autocommit:  # another replica created it at this moment
                raise


def check_rights(connection: Any, database: Database, rights: Rights) -> None:
    """Refuse, in one line naming it, the first right on quotebot's tables the role lacks."""
    tables = [table for table, privileges in rights.items() for _ in privileges]
    privileges = [privilege for each in rights.values() for privilege in each]
    missing = connection.execute(
        "SELECT current_user, t, p FROM unnest(%s::text[], %s::text[]) AS r(t, p) "
        "WHERE NOT has_table_privilege(t, p) LIMIT 1",
        (tables, privileges),
    ).fetchone()
    if missing is not None:
        user, table, privilege = missing
        raise StoreError(
            f"the role {user} lacks {privilege} on {table} in {database}: "
            f"GRANT {privilege} ON {table} TO {user} (the grants: docs/postgresql.md)"
        )


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


class _KeptConnection:
    """A connection kept between uses (the index's reads, the check before each question, the
    bot's shared tables), opened on first use. One the server dropped (a restart, a failover)
    is noticed when the work fails on it: it is opened again and the work tried once more."""

    TABLES: tuple[str, ...] = ()
    """The tables this connection uses, created on first use when missing (names in TABLES)."""

    def __init__(self, database: Database, keep: int = 0) -> None:
        self.database = database
        self.keep = keep
        self._connection: Any = None

    def _setup(self, connection: Any) -> None:
        """What a new connection does first: create this class's tables when missing."""
        create_missing(connection, self.database, self.TABLES)

    def _open(self) -> Any:
        connection = self._connection
        if connection is None or connection.closed or connection.broken:
            self._connection = None
            connection = connect(self.database, autocommit=True)
            try:
                self._setup(connection)
            except BaseException:
                connection.close()
                raise
            self._connection = connection
        return connection

    def _run(self, work: Callable[[Any], T]) -> T:
        """``work(connection)`` on the kept connection, reconnecting once when it was lost.

        Raises:
            StoreError: the server cannot be reached (again).
            psycopg.Error: the work failed on a connection that is still good.
        """
        import psycopg

        for attempt in (1, 2):
            connection = self._open()
            try:
                return work(connection)
            except psycopg.Error:
                if attempt == 2 or not (connection.closed or connection.broken):
                    raise
                log.info("the connection to %s was lost; connecting again", self.database)
        raise AssertionError("unreachable")

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()


_checkers: dict[str, _KeptConnection] = {}  # per database, for the check before a question


def live_version(database: Database) -> str | None:
    """The live version's number, or None when the database holds no index yet (one small
    query on a connection kept for it)."""
    import psycopg

    checker = _checkers.setdefault(database.url, _KeptConnection(database))
    try:
        return checker._run(_live)
    except psycopg.Error as error:
        if isinstance(error, psycopg.errors.InsufficientPrivilege):
            checker._run(lambda connection: check_rights(connection, database, READER_RIGHTS))
        raise StoreError(f"cannot reach {database}: {_reason(error, database)}") from None


def _live(connection: Any) -> str | None:
    import psycopg

    try:
        return _meta(connection, "live")
    except psycopg.errors.UndefinedTable:  # no tables yet: no index
        return None


class PostgresIndex(_KeptConnection):
    """One opened version of the index in PostgreSQL (the interface of a version folder)."""

    def __init__(self, database: Database, model: tuple[str, int] | None = None) -> None:
        from quotebot.storage import Manifest, check_model

        super().__init__(database)
        try:
            version, manifest = self._run(self._live_manifest)
        except StoreError:
            self.close()
            raise
        except Exception as error:  # noqa: BLE001  (a database without quotebot's tables)
            self.close()
            raise StoreError(
                f"{database} holds no quotebot index ({_reason(error, database)}); "
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
            version = _live(connection)
            if version is None:
                raise StoreError(
                    f"no index in {self.database}; build one with `quotebot index build`"
                )
            _check_schema(int(_meta(connection, "schema") or 0), self.database)
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
            reason = _reason(error, self.database)
            raise StoreError(f"reading {self.database} failed: {reason}") from None

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


class SharedLimiter(_KeptConnection):
    """The bot's per-user question limit kept in the database, so that it holds across
    every replica of the bot: at most ``per_minute`` questions per user in any 60 seconds,
    the user told once per full window (the contract of the in-process limiter)."""

    WINDOW = 60.0
    TABLES = ("quotebot_questions", "quotebot_question_warnings")

    def __init__(self, database: Database, per_minute: int) -> None:
        super().__init__(database)
        self.per_minute = per_minute

    def allow(self, user_id: int) -> tuple[bool, float, bool]:
        """Record a question; (allowed, seconds to wait, whether to tell the user)."""
        import psycopg

        if self.per_minute <= 0:
            return True, 0.0, False
        try:
            return self._run(lambda connection: self._allow(connection, user_id))
        except psycopg.Error as error:
            if isinstance(error, psycopg.errors.InsufficientPrivilege):
                self._run(lambda connection: check_rights(connection, self.database, BOT_RIGHTS))
            raise StoreError(
                f"cannot reach {self.database}: {_reason(error, self.database)}"
            ) from None

    def _allow(self, connection: Any, user_id: int) -> tuple[bool, float, bool]:
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


class _SharedTables(_KeptConnection):
    """The bot's conveniences kept in the database: a failure is a warning, never an error."""

    def _quietly(self, what: str, sql: str, *params: Any) -> list[Any] | None:
        """The rows of one statement ([] for one that returns none), or None when it failed."""

        def work(connection: Any) -> list[Any]:
            cursor = connection.execute(sql, params)
            return list(cursor.fetchall()) if cursor.description else []

        try:
            return self._run(work)
        except Exception as error:  # noqa: BLE001  (the server down, a right missing)
            log.warning("could not %s in %s: %s", what, self.database,
                        _reason(error, self.database))  # fmt: skip
            return None

    def _first(self, rows: list[Any] | None) -> str | None:
        return str(rows[0][0]) if rows else None


class SharedMemory(_SharedTables):
    """Which question each of the bot's answer messages answers (for its "More sources"
    button), kept in the database so that any replica can page on from any other's
    answer; the newest ``keep`` are kept."""

    TABLES = ("quotebot_bot_questions",)

    def remember(self, chat_id: int, message_id: int, question: str) -> None:
        self._quietly("remember the question", "INSERT INTO quotebot_bot_questions (chat_id, "
                      "message_id, question) VALUES (%s, %s, %s) ON CONFLICT (chat_id, "
                      "message_id) DO UPDATE SET question = excluded.question, at = now()",
                      chat_id, message_id, question)  # fmt: skip
        self._quietly("trim the questions", "DELETE FROM quotebot_bot_questions WHERE at < "
                      "(SELECT at FROM quotebot_bot_questions ORDER BY at DESC OFFSET %s LIMIT 1)",
                      self.keep)  # fmt: skip

    def get(self, key: tuple[int, int]) -> str | None:
        return self._first(self._quietly("look the question up", "SELECT question FROM "
                           "quotebot_bot_questions WHERE chat_id = %s AND message_id = %s",
                           *key))  # fmt: skip


class SharedConversations(_SharedTables):
    """The bot's conversations (their last turns, as JSON) and which conversation each of its
    answer messages belongs to, kept in the database so that a follow-up sent to any replica
    leans on the turn another replica answered; the newest ``keep`` of each are kept."""

    TABLES = ("quotebot_bot_conversations", "quotebot_bot_threads")

    def turns(self, key: str) -> str | None:
        """The conversation's turns as JSON, or None for a new one."""
        return self._first(self._quietly("read the conversation", "SELECT turns FROM "
                           "quotebot_bot_conversations WHERE key = %s", key))  # fmt: skip

    def save(self, key: str, turns: str) -> None:
        self._quietly("keep the conversation", "INSERT INTO quotebot_bot_conversations (key, "
                      "turns) VALUES (%s, %s) ON CONFLICT (key) DO UPDATE SET turns = "
                      "excluded.turns, at = now()", key, turns)  # fmt: skip
        self._quietly("trim the conversations", "DELETE FROM quotebot_bot_conversations WHERE "
                      "at < (SELECT at FROM quotebot_bot_conversations ORDER BY at DESC OFFSET %s "
                      "LIMIT 1)", self.keep)  # fmt: skip

    def link(self, chat_id: int, message_id: int, key: str) -> None:
        """Remember that an answer message belongs to a conversation."""
        self._quietly("link the answer to its conversation", "INSERT INTO quotebot_bot_threads "
                      "(chat_id, message_id, key) VALUES (%s, %s, %s) ON CONFLICT (chat_id, "
                      "message_id) DO UPDATE SET key = excluded.key, at = now()",
                      chat_id, message_id, key)  # fmt: skip
        self._quietly("trim the threads", "DELETE FROM quotebot_bot_threads WHERE at < (SELECT "
                      "at FROM quotebot_bot_threads ORDER BY at DESC OFFSET %s LIMIT 1)",
                      self.keep)  # fmt: skip

    def thread(self, chat_id: int, message_id: int) -> str | None:
        """The conversation an answer message belongs to."""
        return self._first(self._quietly("look the conversation up", "SELECT key FROM "
                           "quotebot_bot_threads WHERE chat_id = %s AND message_id = %s",
                           chat_id, message_id))  # fmt: skip
