"""The bot's memory kept in the PostgreSQL database that holds the index, so that every
replica of the bot shares it (tables: docs/postgresql.md; created when missing)."""

from __future__ import annotations

import logging
from typing import Any

from quotebot.botstate import BotMemory
from quotebot.storage.postgres import (
    BOT_RIGHTS,
    Conninfo,
    KeptConnection,
    check_rights,
)
from quotebot.storage.postgres.connection import reason
from quotebot.storage.postgres.schema import LOCK_KEY
from quotebot.storage.protocol import StoreError

log = logging.getLogger(__name__)


def in_database(database_url: str, per_minute: int, keep: int) -> BotMemory:
    """The bot's memory in the database at ``database_url``."""
    database = Conninfo(database_url)
    return BotMemory(
        SharedLimiter(database, per_minute),
        SharedMemory(database, keep),
        SharedConversations(database, keep),
    )


class SharedLimiter(KeptConnection):
    """The bot's per-user question limit kept in the database, so that it holds across
    every replica of the bot: at most ``per_minute`` questions per user in any 60 seconds,
    the user told once per full window (the contract of the in-process limiter)."""

    WINDOW = 60.0
    TABLES = ("quotebot_questions", "quotebot_question_warnings")

    def __init__(self, database: Conninfo, per_minute: int) -> None:
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
                f"cannot reach {self.database}: {reason(error, self.database)}"
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


class _SharedTables(KeptConnection):
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
                        reason(error, self.database))  # fmt: skip
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
