"""Fetching a web page safely: a deadline, a size limit, and no private addresses.

Server-side request forgery is the risk: an admin's ``/add URL`` must not make quotebot
read a page on its own machine or network (a cloud metadata service, an admin panel).
Every address the host resolves to is checked, the connection goes to the address that
was checked (no second lookup an attacker could answer differently), and every redirect
is checked the same way.
"""

from __future__ import annotations

import contextlib
import email.utils
import ipaddress
import socket
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote, urljoin, urlsplit

import urllib3
import urllib3.connection
from urllib3.exceptions import HTTPError, NewConnectionError, SSLError, TimeoutError

MAX_REDIRECTS = 5
USER_AGENT = "quotebot/0.1 (reads news articles to quote them)"
ACCEPT = (
    "text/html,application/xhtml+xml,application/rss+xml,application/atom+xml,"
    "application/xml;q=0.9,text/xml;q=0.9,*/*;q=0.5"
)
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_CHUNK = 64 * 1024
# Lookups still hanging after their fetch gave up; past this many, refuse new ones.
_lookups = threading.BoundedSemaphore(64)


class FetchError(Exception):
    """A URL that could not be fetched; the message says why (without the URL)."""


class StatusError(FetchError):
    """The server answered with an error status (4xx, 5xx), and maybe when to come back."""

    def __init__(self, message: str, status: int, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.retry_after = retry_after
        """Seconds the server asked to wait (its ``Retry-After``), if it said."""


@dataclass(frozen=True)
class Page:
    """A fetched page: where it ended up, its media type and charset, and its bytes; its
    status (304: not modified since the validators sent, no body) and the response headers
    a poller keeps (lower-case names: ``etag``, ``last-modified``)."""

    url: str
    content_type: str
    charset: str | None
    body: bytes
    status: int = 200
    headers: Mapping[str, str] = field(default_factory=dict)


KEPT_HEADERS = ("etag", "last-modified")


@dataclass(frozen=True)
class Limits:
    """How far a fetch may go."""

    timeout: float = 15.0
    max_bytes: int = 10 * 1024 * 1024
    allow_private: bool = False


class OutOfTime(FetchError):
    """A fetch cut off by the deadline its caller gave (sooner than its own timeout)."""


def fetch(
    url: str,
    limits: Limits,
    deadline: float | None = None,
    headers: Mapping[str, str] | None = None,
) -> Page:
    """GET a URL, following redirects, within the limits.

    The timeout is a wall-clock deadline for the whole fetch (lookup, connect, headers,
    body and every redirect): a server that trickles bytes is cut off when it passes.

    Args:
        url: An ``http://`` or ``https://`` URL.
        limits: The timeout, size limit and whether private addresses may be read.
        deadline: A ``time.monotonic()`` time to stop by, when sooner than the timeout
            (a feed's total budget).
        headers: More request headers (a conditional GET's ``If-None-Match``).

    Raises:
        FetchError: bad URL, refused address, network error, HTTP error status,
            too large, or too slow (``OutOfTime`` when ``deadline`` cut it off).
    """
    own = time.monotonic() + limits.timeout
    given = deadline is not None and deadline < own  # the caller's, not QUOTEBOT_FETCH_TIMEOUT
    too_slow = OutOfTime("cut off: the time given for it ran out") if given else None
    with _Watchdog(min(own, deadline or own)) as watchdog:
        try:
            page = _fetch(url, limits, watchdog, headers or {})
        except FetchError:
            if watchdog.fired:
                raise too_slow or FetchError(_too_slow(limits)) from None
            raise
        if watchdog.fired:  # cut off: a body that ends with its connection looks whole
            raise too_slow or FetchError(_too_slow(limits))
        return page


def _fetch(url: str, limits: Limits, watchdog: _Watchdog, headers: Mapping[str, str]) -> Page:
    for _hop in range(MAX_REDIRECTS + 1):
        response = _get(url, limits, watchdog, headers)
        location = response.headers.get("Location")
        if response.status in _REDIRECTS and location:
            response.release_conn()
            url = urljoin(url, location)
            continue
        if response.status >= 400:
            response.release_conn()
            raise StatusError(
                f"the server answered HTTP {response.status} {response.reason}",
                response.status,
                retry_after(response.headers.get("Retry-After", "")),
            )
        media, charset = _content_type(response.headers.get("Content-Type", ""))
        kept = {name: response.headers[name] for name in KEPT_HEADERS if name in response.headers}
        if response.status == 304:  # not modified: nothing to read
            response.release_conn()
            return Page(public_url(url), media, charset, b"", 304, kept)
        body = _read(response, limits)
        return Page(public_url(url), media, charset, body, response.status, kept)
    raise FetchError(f"more than {MAX_REDIRECTS} redirects")


class _Watchdog:
    """Shuts every connection of a fetch down when its deadline passes.

    A socket timeout alone does not bound a fetch: each byte that arrives starts it anew,
    so a server sending one byte a second could hold a fetch for as long as it likes.
    """

    def __init__(self, deadline: float) -> None:
        self.deadline = deadline
        self.fired = False
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self._timer = threading.Timer(max(deadline - time.monotonic(), 0), self._fire)
        self._timer.daemon = True

    def __enter__(self) -> _Watchdog:
        self._timer.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def remaining(self) -> float:
        left = self.deadline - time.monotonic()
        if left <= 0:
            self.fired = True
            raise FetchError("too slow")
        return left

    def watch(self, sock: socket.socket) -> None:
        """Watch a new connection's socket, by a duplicate of it: the connection's own
        may be wrapped in TLS or dropped by http.client while the body is still read."""
        duplicate = sock.dup()
        with self._lock:
            self._sockets.append(duplicate)
            if self.fired:
                _shut(duplicate)

    def _fire(self) -> None:
        with self._lock:
            self.fired = True
            for sock in self._sockets:
                _shut(sock)

    def close(self) -> None:
        self._timer.cancel()
        with self._lock:
            for sock in self._sockets:
                sock.close()


def _shut(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)  # a recv() blocked in another thread returns


class _WatchedConnection:
    """A connection whose socket the fetch's watchdog can shut down."""

    watchdog: _Watchdog

    def _new_conn(self) -> socket.socket:
        sock: socket.socket = super()._new_conn()  # type: ignore[misc]
        self.watchdog.watch(sock)
        return sock


class _HTTPConnection(_WatchedConnection, urllib3.connection.HTTPConnection):
    pass


class _HTTPSConnection(_WatchedConnection, urllib3.connection.HTTPSConnection):
    pass


class _Watched:
    """A connection pool whose connections the fetch's watchdog watches."""

    watchdog: _Watchdog

    def _new_conn(self) -> Any:
        connection = super()._new_conn()  # type: ignore[misc]
        connection.watchdog = self.watchdog
        return connection


class _HTTPPool(_Watched, urllib3.HTTPConnectionPool):
    ConnectionCls = _HTTPConnection


class _HTTPSPool(_Watched, urllib3.HTTPSConnectionPool):
    ConnectionCls = _HTTPSConnection


_NAT64 = (ipaddress.ip_network("64:ff9b::/96"), ipaddress.ip_network("64:ff9b:1::/48"))
_IPV4_COMPATIBLE = ipaddress.ip_network("::/96")


def embedded_ipv4(ip: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    """The IPv4 addresses an IPv6 address stands for: IPv4-mapped, IPv4-compatible,
    NAT64, 6to4 and Teredo (its server and its client)."""
    found = [ip.ipv4_mapped, ip.sixtofour, *(ip.teredo or ())]
    compatible = ip in _IPV4_COMPATIBLE and int(ip) > 1  # not :: or ::1
    if compatible or any(ip in net for net in _NAT64):
        found.append(ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF))
    return [v4 for v4 in found if v4 is not None]


def check_address(address: str, allow_private: bool = False) -> None:
    """Refuse an IP address that is not on the public internet, looking through the IPv6
    forms that wrap an IPv4 address (``[::ffff:127.0.0.1]``, ``[::127.0.0.1]``,
    ``[64:ff9b::7f00:1]``, 6to4, Teredo).

    Raises:
        FetchError: it is loopback, private, link-local or otherwise not global.
    """
    if allow_private:
        return
    outer = ipaddress.ip_address(address.split("%")[0])
    inner = embedded_ipv4(outer) if isinstance(outer, ipaddress.IPv6Address) else []
    for ip in [*inner, outer]:
        if ip.is_global and not ip.is_multicast:
            continue
        kind = next(
            (
                name
                for name, flag in [
                    ("loopback", ip.is_loopback),
                    ("link-local", ip.is_link_local),
                    ("private", ip.is_private),
                    ("multicast", ip.is_multicast),
                ]
                if flag
            ),
            "non-public",
        )
        shown = f"{outer} ({ip})" if ip != outer else f"{ip}"
        raise FetchError(
            f"refused: it points to {shown}, a {kind} address "
            "(set QUOTEBOT_ALLOW_PRIVATE_URLS=true to allow such addresses)"
        )


def public_url(url: str) -> str:
    """The URL without a ``user:password@`` part, for messages, logs and citations."""
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    return parts._replace(netloc=parts.netloc.rpartition("@")[2]).geturl()


def _resolve(host: str, port: int, allow_private: bool, watchdog: _Watchdog) -> list[str]:
    """The addresses to connect to, in order, once every one of them has been checked.

    Each lookup runs in a thread of its own, so that lookups a DNS server never answers
    cannot hold up the ones after them; past the deadline the thread is left to finish.
    """
    try:
        addresses = [str(ipaddress.ip_address(host))]  # an IP literal needs no lookup
    except ValueError:
        addresses = _look_up(host, port, watchdog)
    for address in addresses:
        check_address(address, allow_private)
    return addresses


def _look_up(host: str, port: int, watchdog: _Watchdog) -> list[str]:
    if not _lookups.acquire(timeout=watchdog.remaining()):  # the rest hang: wait for one
        raise FetchError(f"the host {host} could not be looked up: too many lookups are hanging")
    result: list[Any] = []

    def lookup() -> None:
        try:
            result.append(socket.getaddrinfo(host, port, type=socket.SOCK_STREAM))
        except (OSError, UnicodeError) as error:
            result.append(error)
        finally:
            _lookups.release()

    thread = threading.Thread(target=lookup, name="quotebot-dns", daemon=True)
    thread.start()
    thread.join(watchdog.remaining())
    if not result:
        raise FetchError(f"the host {host} could not be looked up in time")
    if isinstance(result[0], BaseException):
        raise FetchError(f"the host {host} cannot be found")
    return list(dict.fromkeys(str(info[4][0]) for info in result[0]))


def retry_after(value: str) -> float | None:
    """The seconds a ``Retry-After`` header asks for: a number of seconds or an HTTP date."""
    value = value.strip()
    if not value:
        return None
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(when.timestamp() - time.time(), 0.0)


def _get(
    url: str, limits: Limits, watchdog: _Watchdog, extra: Mapping[str, str]
) -> urllib3.BaseHTTPResponse:
    try:
        parts = urllib3.util.parse_url(url)
    except ValueError as error:
        raise FetchError(f"not a valid URL ({error})") from error
    if parts.scheme not in ("http", "https"):
        raise FetchError("only http:// and https:// URLs can be fetched")
    if not parts.host:
        raise FetchError("not a valid URL (it names no host)")
    host = parts.host.strip("[]")
    port = parts.port or (443 if parts.scheme == "https" else 80)
    addresses = _resolve(host, port, limits.allow_private, watchdog)
    headers = {"Host": parts.netloc or host, "User-Agent": USER_AGENT, "Accept": ACCEPT, **extra}
    if parts.auth:
        headers.update(urllib3.util.make_headers(basic_auth=unquote(parts.auth)))
    for number, address in enumerate(addresses, start=1):
        remaining = watchdog.remaining()
        timeout = urllib3.Timeout(connect=remaining, read=remaining)
        pool: urllib3.HTTPConnectionPool
        if parts.scheme == "https":
            pool = _HTTPSPool(
                address, port, timeout=timeout, server_hostname=host, assert_hostname=host
            )
        else:
            pool = _HTTPPool(address, port, timeout=timeout)
        pool.watchdog = watchdog
        try:
            return pool.urlopen(
                "GET",
                parts.request_uri,
                headers=headers,
                redirect=False,
                retries=False,
                preload_content=False,
                assert_same_host=False,
            )
        except NewConnectionError as error:
            if number == len(addresses):  # else try the host's next address (IPv4 after IPv6)
                raise FetchError(_network_reason(error, limits)) from error
        except (HTTPError, OSError) as error:
            raise FetchError(_network_reason(error, limits)) from error
    raise FetchError(f"the host {host} has no address")


def _read(response: urllib3.BaseHTTPResponse, limits: Limits) -> bytes:
    """The body, stopped as soon as it passes the size limit (the watchdog keeps time)."""
    too_large = FetchError(
        f"larger than the limit of {limits.max_bytes / 1e6:g} MB (QUOTEBOT_MAX_DOWNLOAD_MB)"
    )
    declared = response.headers.get("Content-Length", "")
    if declared.isdigit() and int(declared) > limits.max_bytes:
        response.release_conn()
        raise too_large
    chunks: list[bytes] = []
    size = 0
    try:
        for chunk in response.stream(_CHUNK):
            size += len(chunk)
            if size > limits.max_bytes:
                raise too_large
            chunks.append(chunk)
    except (HTTPError, OSError) as error:
        raise FetchError(_network_reason(error, limits)) from error
    finally:
        response.release_conn()
    return b"".join(chunks)


def _content_type(header: str) -> tuple[str, str | None]:
    media, _, params = header.partition(";")
    charset = None
    for param in params.split(";"):
        key, _, value = param.partition("=")
        if key.strip().lower() == "charset":
            charset = value.strip().strip('"') or None
    return media.strip().lower(), charset


def _network_reason(error: Exception, limits: Limits) -> str:
    if isinstance(error, NewConnectionError):  # before TimeoutError: it is a subclass
        return "could not connect (the server is down or refused the connection)"
    if isinstance(error, TimeoutError):
        return _too_slow(limits)
    if isinstance(error, SSLError):
        return f"secure connection failed ({error})"
    return f"the connection failed ({type(error).__name__})"


def _too_slow(limits: Limits) -> str:
    return f"too slow: not complete within {limits.timeout:g} s (QUOTEBOT_FETCH_TIMEOUT)"
