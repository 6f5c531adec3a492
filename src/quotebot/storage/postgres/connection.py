"""Connecting to the PostgreSQL that holds the index: the connection string and how
messages name it (never with its password), and a connection opened with one clear line
when it fails."""

from __future__ import annotations

import contextlib
import logging
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlsplit

from quotebot.storage.protocol import StoreError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Conninfo:
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


def connect(database: Conninfo, autocommit: bool = False) -> Any:
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
        raise StoreError(f"cannot connect to {database}: {reason(error, database)}") from None
    return connection


def reason(error: Exception, database: Conninfo) -> str:
    """The first line of a driver error, without the connection string's password."""
    text = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    for prefix in ("connection failed: ", "connection is bad: "):
        text = text.removeprefix(prefix)
    return scrub(text, database.url)
