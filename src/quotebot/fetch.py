"""Fetching a web page safely: a deadline, a size limit, and no private addresses.

Server-side request forgery is the risk: an admin's ``/add URL`` must not make quotebot
read a page on its own machine or network (a cloud metadata service, an admin panel).
Every address the host resolves to is checked, the connection goes to the address that
was checked (no second lookup an attacker could answer differently), and every redirect
is checked the same way.
"""

from __future__ import annotations

import ipaddress
import socket
import time
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from urllib.parse import urljoin

import urllib3
from urllib3.exceptions import HTTPError, NewConnectionError, SSLError, TimeoutError

MAX_REDIRECTS = 5
USER_AGENT = "quotebot/0.1 (reads news articles to quote them)"
ACCEPT = (
    "text/html,application/xhtml+xml,application/rss+xml,application/atom+xml,"
    "application/xml;q=0.9,text/xml;q=0.9,*/*;q=0.5"
)
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_CHUNK = 64 * 1024
# Name lookups run here so that a slow DNS server cannot outlast the fetch's deadline.
_resolver = ThreadPoolExecutor(max_workers=4, thread_name_prefix="quotebot-dns")


class FetchError(Exception):
    """A URL that could not be fetched; the message says why (without the URL)."""


@dataclass(frozen=True)
class Page:
    """A fetched page: where it ended up, its media type and charset, and its bytes."""

    url: str
    content_type: str
    charset: str | None
    body: bytes


@dataclass(frozen=True)
class Limits:
    """How far a fetch may go."""

    timeout: float = 15.0
    max_bytes: int = 10 * 1024 * 1024
    allow_private: bool = False


def fetch(url: str, limits: Limits) -> Page:
    """GET a URL, following redirects, within the limits.

    Raises:
        FetchError: bad URL, refused address, network error, HTTP error status,
            too large, or too slow.
    """
    deadline = time.monotonic() + limits.timeout
    for _hop in range(MAX_REDIRECTS + 1):
        response = _get(url, limits, deadline)
        location = response.headers.get("Location")
        if response.status in _REDIRECTS and location:
            response.release_conn()
            url = urljoin(url, location)
            continue
        if response.status >= 400:
            response.release_conn()
            raise FetchError(f"the server answered HTTP {response.status} {response.reason}")
        media, charset = _content_type(response.headers.get("Content-Type", ""))
        body = _read(response, limits, deadline)
        return Page(url=url, content_type=media, charset=charset, body=body)
    raise FetchError(f"more than {MAX_REDIRECTS} redirects")


def check_address(address: str, allow_private: bool = False) -> None:
    """Refuse an IP address that is not on the public internet.

    Raises:
        FetchError: it is loopback, private, link-local or otherwise not global.
    """
    ip = ipaddress.ip_address(address.split("%")[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if allow_private or (ip.is_global and not ip.is_multicast):
        return
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
    raise FetchError(
        f"refused: it points to {ip}, a {kind} address "
        "(set QUOTEBOT_ALLOW_PRIVATE_URLS=true to allow such addresses)"
    )


def _resolve(host: str, port: int, allow_private: bool, deadline: float) -> list[str]:
    """The addresses to connect to, in order, once every one of them has been checked."""
    lookup = _resolver.submit(socket.getaddrinfo, host, port, type=socket.SOCK_STREAM)
    try:
        infos = lookup.result(timeout=max(deadline - time.monotonic(), 0.1))
    except FutureTimeout as error:
        raise FetchError(f"the host {host} could not be looked up in time") from error
    except (socket.gaierror, UnicodeError) as error:
        raise FetchError(f"the host {host} cannot be found") from error
    addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
    for address in addresses:
        check_address(address, allow_private)
    return addresses


def _get(url: str, limits: Limits, deadline: float) -> urllib3.BaseHTTPResponse:
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
    addresses = _resolve(host, port, limits.allow_private, deadline)
    for number, address in enumerate(addresses, start=1):
        remaining = max(deadline - time.monotonic(), 0.1)
        timeout = urllib3.Timeout(connect=remaining, read=remaining)
        pool: urllib3.HTTPConnectionPool
        if parts.scheme == "https":
            pool = urllib3.HTTPSConnectionPool(
                address, port, timeout=timeout, server_hostname=host, assert_hostname=host
            )
        else:
            pool = urllib3.HTTPConnectionPool(address, port, timeout=timeout)
        try:
            return pool.urlopen(
                "GET",
                parts.request_uri,
                headers={"Host": parts.netloc or host, "User-Agent": USER_AGENT, "Accept": ACCEPT},
                redirect=False,
                retries=False,
                preload_content=False,
                assert_same_host=False,
            )
        except NewConnectionError as error:
            if number == len(addresses):  # else try the host's next address (IPv4 after IPv6)
                raise FetchError(_network_reason(error, limits)) from error
        except HTTPError as error:
            raise FetchError(_network_reason(error, limits)) from error
    raise FetchError(f"the host {host} has no address")


def _read(response: urllib3.BaseHTTPResponse, limits: Limits, deadline: float) -> bytes:
    """The body, stopped as soon as it passes the size limit or the deadline."""
    too_large = FetchError(
        f"larger than the limit of {limits.max_bytes / 1e6:.0f} MB (QUOTEBOT_MAX_DOWNLOAD_MB)"
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
            if time.monotonic() > deadline:
                raise FetchError(f"too slow: not complete after {limits.timeout:g} s")
            chunks.append(chunk)
    except HTTPError as error:
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


def _network_reason(error: HTTPError, limits: Limits) -> str:
    if isinstance(error, NewConnectionError):  # before TimeoutError: it is a subclass
        return "could not connect (the server is down or refused the connection)"
    if isinstance(error, TimeoutError):
        return f"no answer within {limits.timeout:g} s"
    if isinstance(error, SSLError):
        return f"secure connection failed ({error})"
    return f"the connection failed ({type(error).__name__})"
