"""The index's tables in PostgreSQL (and the bot's shared ones), created only when missing,
and the rights each use needs, checked with one line naming the first one missing."""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from typing import Any

from quotebot.storage.postgres.connection import Conninfo, reason
from quotebot.storage.protocol import StoreError

SCHEMA = 1
"""The tables' layout; an index of another is refused with what to run."""
LOCK_KEY = 7_202_612  # the advisory lock every writer of the index takes
HNSW_SEARCH_DEPTH = 100  # hnsw.ef_search

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
    # the feeds the index follows (DatabaseSubscriptions)
    "quotebot_feeds": "CREATE TABLE quotebot_feeds (url text PRIMARY KEY, feed jsonb NOT NULL, "
    "next_at double precision NOT NULL, leased_until double precision NOT NULL DEFAULT 0)",
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
DATA_TABLES = ("quotebot_articles", "quotebot_passages", "quotebot_postings", "quotebot_terms")
BOT_TABLES = (
    "quotebot_questions",
    "quotebot_question_warnings",
    "quotebot_bot_questions",
    "quotebot_bot_conversations",
    "quotebot_bot_threads",
)
Rights = dict[str, tuple[str, ...]]
"""The privileges a use needs, by table."""
READER_RIGHTS: Rights = {
    table: ("SELECT",) for table in ("quotebot_meta", "quotebot_versions", *DATA_TABLES)
}
"""What answering needs: ``quotebot ask``, ``chat``, the bot (which also needs BOT_RIGHTS)."""
WRITER_RIGHTS: Rights = {
    "quotebot_meta": ("SELECT", "INSERT", "UPDATE"),
    "quotebot_versions": ("SELECT", "INSERT", "DELETE"),
    **{table: ("SELECT", "INSERT", "DELETE") for table in DATA_TABLES},
}
"""What ``quotebot index build / add / remove`` needs on tables that exist."""
BOT_RIGHTS: Rights = {table: ("SELECT", "INSERT", "UPDATE", "DELETE") for table in BOT_TABLES}
"""What the bot needs on its shared tables (the question limit, memory, conversations)."""


def ensure_schema(connection: Any, database: Conninfo, dimension: int) -> None:
    """Create what is missing (the vector extension, the tables, the bot's tables too), check
    the role's rights on them, and refuse another schema; each fault is one line."""
    extension = connection.execute("SELECT 1 FROM pg_extension WHERE extname = 'vector'")
    if extension.fetchone() is None:
        try:
            connection.execute("CREATE EXTENSION IF NOT EXISTS vector")
        except Exception as error:  # noqa: BLE001  (the driver's error for a missing extension)
            raise StoreError(
                f"cannot use pgvector (the vector extension) in {database}: "
                f"{reason(error, database)}; install it on the server and run `CREATE "
                "EXTENSION vector` in the database as a superuser (or ask its administrator to)"
            ) from None
    kept_apart = (*BOT_TABLES, "quotebot_feeds")  # created by those that use them
    create_missing(connection, database, [t for t in TABLES if t not in kept_apart], dimension)
    with contextlib.suppress(StoreError):  # the bot's and the feeds' too, where this role may
        create_missing(connection, database, kept_apart)
    check_rights(connection, database, WRITER_RIGHTS)
    schema = meta(connection, "schema")
    if schema is None:
        connection.execute(
            "INSERT INTO quotebot_meta VALUES ('schema', %s) ON CONFLICT DO NOTHING", (SCHEMA,)
        )
        return
    check_schema(int(schema), database)


def create_missing(
    connection: Any, database: Conninfo, names: Sequence[str], dimension: int = 0
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


def check_rights(connection: Any, database: Conninfo, rights: Rights) -> None:
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


def check_schema(schema: int, database: Conninfo) -> None:
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


def meta(connection: Any, key: str) -> str | None:
    row = connection.execute("SELECT value FROM quotebot_meta WHERE key = %s", (key,)).fetchone()
    return None if row is None else str(row[0])
