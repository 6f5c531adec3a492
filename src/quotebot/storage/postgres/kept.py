"""A connection kept between uses (the index's reads, the check before each question, the
bot's shared tables) that reconnects once when the server dropped it."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, TypeVar

from quotebot.storage.postgres.connection import Conninfo, connect
from quotebot.storage.postgres.schema import create_missing

log = logging.getLogger(__name__)
T = TypeVar("T")


class KeptConnection:
    """A connection kept between uses (the index's reads, the check before each question, the
    bot's shared tables), opened on first use. One the server dropped (a restart, a failover)
    is noticed when the work fails on it: it is opened again and the work tried once more."""

    TABLES: tuple[str, ...] = ()
    """The tables this connection uses, created on first use when missing (names in TABLES)."""

    def __init__(self, database: Conninfo, keep: int = 0) -> None:
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
