"""A real web site on 127.0.0.1 (http.server in a thread, optionally over TLS) serving
pages a test sets up."""

from __future__ import annotations

import email.utils
import ssl
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import BinaryIO


@dataclass
class Response:
    body: bytes = b""
    content_type: str = "text/html; charset=utf-8"
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # seconds before the body is sent
    send_length: bool = True  # False: no Content-Length, the body ends when the connection does
    trickle: float = 0.0  # seconds between bytes of the body (a hostile, slow server)
    trickle_headers: float = 0.0  # seconds between bytes of the status line and headers
    chunked: bool = False  # Transfer-Encoding: chunked, the body in one chunk then the last
    etag: str | None = None  # sent, and a request with it in If-None-Match gets a 304
    last_modified: str | None = None  # sent, and If-Modified-Since it gets a 304


class Website:
    """The pages served, by path; anything else is a 404."""

    def __init__(self, port: int, base: str = "http://127.0.0.1") -> None:
        self.port = port
        self.base = base
        self.pages: dict[str, Response] = {}
        self.requests: list[str] = []
        self.headers: list[tuple[str, dict[str, str]]] = []  # each request's path and headers

    def url(self, path: str) -> str:
        return f"{self.base}:{self.port}{path}"

    def page(
        self,
        path: str,
        body: str | bytes,
        content_type: str = "text/html; charset=utf-8",
        **options: object,
    ) -> str:
        data = body.encode() if isinstance(body, str) else body
        self.pages[path] = Response(data, content_type, **options)  # type: ignore[arg-type]
        return self.url(path)

    def redirect(self, path: str, to: str, status: int = 302) -> str:
        self.pages[path] = Response(status=status, headers={"Location": to})
        return self.url(path)


def article_html(title: str, *paragraphs: str, published: str = "2024-05-03") -> str:
    """A news page as sites write them: navigation, the article, a footer."""
    body = "\n".join(f"<p>{p}</p>" for p in paragraphs)
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{title} | Harbour Gazette</title>
<meta property="og:title" content="{title}">
<meta property="article:published_time" content="{published}T09:00:00Z">
</head><body>
<nav><a href="/">Home</a> <a href="/news">News</a> <a href="/sport">Sport</a></nav>
<article><h1>{title}</h1>
{body}
</article>
<footer>Copyright Harbour Gazette. All rights reserved.</footer>
</body></html>"""


def _trickle(out: BinaryIO, data: bytes, pause: float) -> None:
    """Send one byte at a time, ``pause`` seconds apart, until done or the client leaves."""
    with suppress(BrokenPipeError, ConnectionResetError):
        for byte in data:
            out.write(bytes([byte]))
            out.flush()
            time.sleep(pause)


def _not_modified(response: Response, etag: str | None, since: str | None) -> bool:
    """Whether a conditional GET's validators match the page (it has not changed)."""
    if response.status != 200:
        return False
    if etag is not None:
        return etag == response.etag
    return since is not None and since == response.last_modified


@contextmanager
def serve(tls: ssl.SSLContext | None = None) -> Iterator[Website]:
    """Serve a Website on a free port of 127.0.0.1 until the block ends; with ``tls``,
    over HTTPS as https://localhost:PORT."""
    site: Website

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802  (http.server's name)
            site.requests.append(self.path)
            site.headers.append((self.path, dict(self.headers.items())))
            response = site.pages.get(self.path, Response(b"not found", "text/plain", 404))
            if _not_modified(response, self.headers.get("If-None-Match"),
                             self.headers.get("If-Modified-Since")):  # fmt: skip
                self.send_response(304)
                self.end_headers()
                return
            if response.trickle_headers:
                head = f"HTTP/1.1 {response.status} OK\r\nContent-Type: text/html\r\n\r\n"
                _trickle(self.wfile, head.encode() + response.body, response.trickle_headers)
                return
            self.send_response(response.status)
            self.send_header("Content-Type", response.content_type)
            if response.etag:
                self.send_header("ETag", response.etag)
            if response.last_modified:
                self.send_header("Last-Modified", response.last_modified)
            for key, value in response.headers.items():
                self.send_header(key, value)
            body = response.body
            if response.chunked:
                self.send_header("Transfer-Encoding", "chunked")
                body = f"{len(body):x}\r\n".encode() + body + b"\r\n0\r\n\r\n"
            elif response.send_length:
                self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            time.sleep(response.delay)
            if response.trickle:
                _trickle(self.wfile, body, response.trickle)
                return
            with suppress(BrokenPipeError, ConnectionResetError):
                self.wfile.write(body)

        do_POST = do_GET  # noqa: N815

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    if tls is not None:
        server.socket = tls.wrap_socket(server.socket, server_side=True)
    site = Website(server.server_address[1], "https://localhost" if tls else "http://127.0.0.1")
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield site
    finally:
        server.shutdown()
        server.server_close()


def rss(*items: tuple[str, str, str, float]) -> str:
    """An RSS 2.0 feed of (title, link, description, published: seconds since the epoch)."""
    entries = "".join(
        f"<item><title>{title}</title><link>{link}</link><description>{said}</description>"
        f"<pubDate>{email.utils.formatdate(date, usegmt=True)}</pubDate></item>"
        for title, link, said, date in items
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
        f"<title>Harbour Gazette</title><link>http://127.0.0.1/</link>{entries}</channel></rss>"
    )
