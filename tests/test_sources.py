"""Every kind of source: Markdown, HTML, other encodings, article URLs and feeds, and
the web's bad answers, served by a real HTTP server on 127.0.0.1."""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from pathlib import Path

import pytest
import trustme
from tests.auxil.website import Website, article_html, serve

from quotebot.records import Article
from quotebot.sources import SourceOptions, read_sources
from quotebot.sources.fetch import FetchError, check_address

LOCAL = SourceOptions(allow_private_urls=True, fetch_timeout=3)
FERRY = article_html(
    "Oban ferry timetable changes",
    "The ferry to Oban will leave at noon from the north pier from Monday, the harbour "
    "master said on Friday.",
    "Tickets will cost twelve pounds for adults and six pounds for children under sixteen.",
)
BRIDGE = article_html(
    "Old bridge to close",
    "The old bridge over the river will close in May for six weeks of repairs, the council "
    "announced at its meeting on Tuesday evening.",
    "Drivers are asked to use the ring road while the work goes on.",
    published="2024-04-20",
)


@pytest.fixture
def site() -> Iterator[Website]:
    with serve() as website:
        yield website


def _one(sources: list[str | Path], options: SourceOptions = LOCAL) -> Article:
    read = read_sources(sources, options)
    assert not read.errors, read.errors
    [article] = read.articles
    return article


def test_markdown_paragraphs_title_and_front_matter(tmp_path: Path) -> None:
    path = tmp_path / "harbour.md"
    path.write_text(
        "---\nurl: https://harbour.example/oban\ndate: 2024-05-03\n---\n"
        "# Oban ferry *timetable* changes\n\n"
        "The ferry to **Oban** leaves at noon,\nsays the [harbour master](https://x.example).\n\n"
        "## Prices\n\n- Adults pay `twelve` pounds.\n- Children pay six.\n\n"
        "> Islanders asked for a later sailing.\n\n```\ncode is not a paragraph\n```\n"
    )
    article = _one([path])
    assert (article.id, article.title) == ("harbour", "Oban ferry timetable changes")
    assert article.paragraphs == (
        "The ferry to Oban leaves at noon, says the harbour master.",
        "Adults pay twelve pounds.",
        "Children pay six.",
        "Islanders asked for a later sailing.",
    )
    assert (article.url, article.published) == ("https://harbour.example/oban", "2024-05-03")


def test_html_file_main_text_title_and_date(tmp_path: Path) -> None:
    (tmp_path / "ferry.html").write_text(FERRY)
    article = _one([tmp_path / "ferry.html"])
    assert article.title == "Oban ferry timetable changes"
    assert article.published == "2024-05-03"
    assert article.paragraphs[0].startswith("The ferry to Oban will leave at noon")
    assert not any("Copyright" in p or "Sport" in p for p in article.paragraphs)


@pytest.mark.parametrize(
    ("encoding", "title", "body"),
    [
        ("cp1252", "Café “news”", "Crème brûlée à Paris – €5."),
        ("cp1251", "Новости дня", "Паром в Обан отправляется в полдень с северного причала."),
        ("utf-16", "Zürich", "Die Fähre fährt um zwölf Uhr."),
    ],
)
def test_text_in_other_encodings_is_decoded(
    tmp_path: Path, encoding: str, title: str, body: str
) -> None:
    path = tmp_path / "story.txt"
    path.write_bytes(f"{title}\n\n{body}\n".encode(encoding))
    article = _one([path])
    assert (article.title, article.paragraphs) == (title, (body,))


def test_article_url_keeps_title_date_and_url(site: Website) -> None:
    url = site.page("/news/oban-ferry", FERRY)
    article = _one([url])
    assert article.title == "Oban ferry timetable changes"
    assert (article.url, article.published) == (url, "2024-05-03")
    assert "noon" in article.paragraphs[0]
    assert article.id.startswith("127-0-0-1-news-oban-ferry-")
    assert _one([url]).id == article.id  # the same URL is the same article


def test_redirects_are_followed(site: Website) -> None:
    site.page("/news/oban-ferry", FERRY)
    url = site.redirect("/short", "/news/oban-ferry", status=301)
    assert _one([url]).title == "Oban ferry timetable changes"
    site.redirect("/loop", "/loop")
    [error] = read_sources([site.url("/loop")], LOCAL).errors
    assert "more than 5 redirects" in str(error)


def test_rss_feed_entries_are_fetched_by_link(site: Website) -> None:
    ferry, bridge = site.page("/ferry", FERRY), site.page("/bridge", BRIDGE)
    dead = site.url("/gone")
    feed = site.page(
        "/rss.xml",
        f"""<?xml version="1.0"?><rss version="2.0"><channel><title>Harbour Gazette</title>
        <item><title>Ferry times</title><link>{ferry}</link>
          <pubDate>Fri, 03 May 2024 09:00:00 GMT</pubDate></item>
        <item><title>Bridge closes</title><link>{bridge}</link></item>
        <item><title>Gone</title><link>{dead}</link></item>
        </channel></rss>""",
        content_type="application/rss+xml",
    )
    read = read_sources([feed], LOCAL)
    assert [(a.title, a.url, a.source) for a in read.articles] == [
        ("Ferry times", ferry, feed),
        ("Bridge closes", bridge, feed),
    ]
    assert read.articles[0].published == "Fri, 03 May 2024 09:00:00 GMT"
    assert read.articles[1].published == "2024-04-20"
    [error] = read.errors
    assert str(error) == f"{dead}: the server answered HTTP 404 Not Found"


def test_atom_feed_served_as_xml(site: Website) -> None:
    ferry = site.page("/ferry", FERRY)
    feed = site.page(
        "/atom",
        f"""<?xml version="1.0" encoding="utf-8"?>
        <feed xmlns="http://www.w3.org/2005/Atom"><title>Gazette</title>
        <entry><title>Ferry times</title><link href="{ferry}"/>
        <updated>2024-05-03T09:00:00Z</updated></entry></feed>""",
        content_type="text/xml",
    )
    assert _one([feed]).url == ferry


@pytest.mark.parametrize(
    ("setup", "reason"),
    [
        (lambda s: s.url("/missing"), "the server answered HTTP 404 Not Found"),
        (
            lambda s: s.page("/logo.png", b"\x89PNG\r\n\x1a\n", content_type="image/png"),
            "not an HTML page or an RSS/Atom feed (the server says 'image/png')",
        ),
        (lambda s: s.page("/slow", FERRY, delay=5), "too slow: not complete within 1 s"),
        (
            lambda s: s.page("/huge", "x" * 3_000_000),
            "larger than the limit of 2 MB (QUOTEBOT_MAX_DOWNLOAD_MB)",
        ),
        (
            lambda s: s.page("/endless", "x" * 3_000_000, send_length=False),
            "larger than the limit of 2 MB (QUOTEBOT_MAX_DOWNLOAD_MB)",
        ),
        (lambda s: s.page("/empty", "<html><body></body></html>"), "no article text found"),
        (lambda s: "http://127.0.0.1:9/closed", "could not connect"),
        (  # every redirect is checked like the first request
            lambda s: s.redirect("/to-disk", "file:///etc/passwd"),
            "only http:// and https:// URLs can be fetched",
        ),
        (lambda s: "http://no-such-host.invalid/news", "cannot be found"),
    ],
)
def test_bad_urls_are_one_line_each(site: Website, setup: object, reason: str) -> None:
    url = setup(site)  # type: ignore[operator]
    options = SourceOptions(allow_private_urls=True, fetch_timeout=1, max_download_bytes=2_000_000)
    read = read_sources([url], options)
    assert read.articles == []
    [error] = read.errors
    assert str(error).startswith(f"{url}: ") and reason in str(error)


def test_private_addresses_are_refused_by_default(site: Website) -> None:
    url = site.page("/news/oban-ferry", FERRY)
    disguises = ["localhost", "127.1", "2130706433", "0x7f000001"]  # all 127.0.0.1
    for address in [url] + [url.replace("127.0.0.1", name) for name in disguises]:
        read = read_sources([address], SourceOptions())
        [error] = read.errors
        assert "refused: it points to 127.0.0.1, a loopback address" in str(error)
        assert "QUOTEBOT_ALLOW_PRIVATE_URLS=true" in str(error)
    assert site.requests == []  # refused before connecting


@pytest.mark.parametrize(
    ("address", "kind"),
    [
        ("10.1.2.3", "private"),
        ("192.168.0.1", "private"),
        ("172.16.5.4", "private"),
        ("169.254.169.254", "link-local"),  # cloud metadata service
        ("::1", "loopback"),
        ("::ffff:127.0.0.1", "loopback"),
        ("fe80::1", "link-local"),
        ("0.0.0.0", "private"),
        ("100.64.0.1", "non-public"),
    ],
)
def test_non_public_addresses(address: str, kind: str) -> None:
    with pytest.raises(FetchError, match=f"a {kind} address"):
        check_address(address)
    check_address(address, allow_private=True)


def test_public_addresses_pass() -> None:
    for address in ("93.184.215.14", "2606:2800:21f:cb07:6820:80da:af6b:8b2c"):
        check_address(address)


def test_https_is_verified_against_the_host_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The connection goes to the checked address, but TLS still checks the host's name."""
    ca = trustme.CA()
    tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("localhost").configure_cert(tls)
    with serve(tls) as site:
        url = site.page("/news/oban-ferry", FERRY)
        [error] = read_sources([url], LOCAL).errors  # our CA is not trusted yet
        assert "secure connection failed" in str(error) and "CERTIFICATE_VERIFY_FAILED" in str(
            error
        )
        ca.cert_pem.write_to_path(str(tmp_path / "ca.pem"))
        monkeypatch.setenv("SSL_CERT_FILE", str(tmp_path / "ca.pem"))
        article = _one([url])
    assert article.title == "Oban ferry timetable changes" and article.url == url
