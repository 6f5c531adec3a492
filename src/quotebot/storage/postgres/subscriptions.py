"""The feeds an index in PostgreSQL follows: ``quotebot_feeds``, one row a feed (its state
as JSON, and the two times the lease needs as columns). A poller leases the due feeds with
one ``UPDATE ... WHERE next_at <= now AND leased_until < now RETURNING``, so that of several
replicas each feed goes to one."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, TypeVar

from quotebot.storage.postgres.connection import Conninfo, reason
from quotebot.storage.postgres.kept import KeptConnection
from quotebot.storage.protocol import StoreError
from quotebot.storage.subscriptions import Feed

T = TypeVar("T")


class DatabaseSubscriptions(KeptConnection):
    """The feeds followed by the index in a database (a ``storage.Subscriptions``)."""

    TABLES = ("quotebot_feeds",)

    def __init__(self, database: Conninfo) -> None:
        super().__init__(database)

    def follow(self, feed: Feed) -> Feed | None:
        def follow(connection: Any) -> Feed | None:
            with connection.transaction():
                before = _one(
                    connection.execute(
                        "SELECT feed FROM quotebot_feeds WHERE url = %s FOR UPDATE", (feed.url,)
                    ).fetchone()
                )
                if before is None:
                    connection.execute(
                        "INSERT INTO quotebot_feeds (url, feed, next_at) VALUES (%s, %s, %s)",
                        (feed.url, json.dumps(feed.to_dict()), feed.next_at),
                    )
                else:
                    connection.execute(
                        "UPDATE quotebot_feeds SET feed = feed || %s::jsonb WHERE url = %s",
                        (json.dumps({"every": feed.every, "keep": feed.keep}), feed.url),
                    )
                return before

        return self._do(follow)

    def unfollow(self, url: str) -> Feed | None:
        return self._do(
            lambda connection: _one(
                connection.execute(
                    "DELETE FROM quotebot_feeds WHERE url = %s RETURNING feed", (url,)
                ).fetchone()
            )
        )

    def feeds(self) -> list[Feed]:
        rows = self._do(
            lambda connection: connection.execute(
                "SELECT feed FROM quotebot_feeds ORDER BY (feed->>'added_at')::float, url"
            ).fetchall()
        )
        return [Feed.from_dict(row[0]) for row in rows]

    def lease(self, now: float, until: float) -> list[Feed]:
        rows = self._do(
            lambda connection: connection.execute(
                "UPDATE quotebot_feeds SET leased_until = %(until)s, "
                "feed = feed || jsonb_build_object('leased_until', %(until)s::float) "
                "WHERE next_at <= %(now)s AND leased_until < %(now)s RETURNING feed",
                {"now": now, "until": until},
            ).fetchall()
        )
        return [Feed.from_dict(row[0]) for row in rows]

    def save(self, feed: Feed) -> None:
        data = {**feed.to_dict(), "leased_until": 0.0}
        self._do(
            lambda connection: connection.execute(
                "UPDATE quotebot_feeds SET next_at = %s, leased_until = 0, "
                "feed = %s::jsonb || jsonb_build_object('every', feed->'every', "
                "'keep', feed->'keep') WHERE url = %s",
                (feed.next_at, json.dumps(data), feed.url),
            )
        )

    def _do(self, work: Callable[[Any], T]) -> T:
        """The work on the kept connection; a database error is one line naming it."""
        import psycopg

        try:
            return self._run(work)
        except psycopg.Error as error:
            raise StoreError(
                f"cannot reach the feeds in {self.database}: {reason(error, self.database)}"
            ) from None


def _one(row: Any) -> Feed | None:
    return None if row is None else Feed.from_dict(row[0])
