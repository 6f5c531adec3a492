"""Articles from the web: HTML pages (trafilatura), article URLs, and RSS/Atom feeds.

Imported only when an HTML file or a URL is read, since trafilatura takes a while to load.
"""

from __future__ import annotations

import hashlib
import html as html_text
import re
import time
from typing import Any
from urllib.parse import urlsplit

import feedparser
import trafilatura

from quotebot.records import Article
from quotebot.sources.base import SourceError, SourceOptions, clean_paragraphs
from quotebot.sources.fetch import FetchError, Limits, OutOfTime, Page, fetch, public_url

_HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})
_FEED_TYPES = frozenset(
    {"application/rss+xml", "application/atom+xml", "application/rdf+xml", "application/feed+xml"}
)
_XML_TYPES = frozenset({"application/xml", "text/xml", "text/plain", ""})
_FEED_ROOT = re.compile(rb"<(rss|feed|rdf:RDF)[\s>]", re.IGNORECASE)
_SLUG = re.compile(r"[^a-z0-9]+")


def article_from_html(
    html: bytes | str, where: str, article_id: str, url: str | None = None, source: str = ""
) -> Article:
    """The main text of an HTML page as an article, with its title and date.

    Raises:
        SourceError: no article text or no title could be found in it.
    """
    document = trafilatura.bare_extraction(
        html,
        url=url,
        with_metadata=True,
        include_comments=False,
        include_tables=False,
        favor_recall=True,
    )
    text = getattr(document, "text", None) or ""
    paragraphs = clean_paragraphs(text.split("\n"))
    if not paragraphs:
        raise SourceError(f"{where}: no article text found in the page")
    title = " ".join((getattr(document, "title", None) or "").split())
    if not title:
        raise SourceError(f"{where}: the page has no title")
    while paragraphs and paragraphs[0] == title:  # the headline, repeated in the text
        paragraphs.pop(0)
    if not paragraphs:
        raise SourceError(f"{where}: no article text found in the page")
    url = url or getattr(document, "url", None) or None
    published = getattr(document, "date", None) or None
    return Article(article_id, title, tuple(paragraphs), url, published, source=source or where)


def url_id(url: str) -> str:
    """A stable, readable article id for a URL: its host and path, and a short hash."""
    parts = urlsplit(url)
    host = _SLUG.sub("-", parts.hostname or "").strip("-")
    path = _SLUG.sub("-", parts.path.lower()).strip("-")[-48:].strip("-")
    digest = hashlib.sha256(url.encode()).hexdigest()[:8]
    return "-".join(part for part in (host, path, digest) if part)


def read_url(url: str, options: SourceOptions) -> tuple[list[Article], list[SourceError]]:
    """The article at a URL, or every entry of the feed at it.

    Returns:
        The articles, and the feed entries that could not be read.

    Raises:
        SourceError: the URL cannot be fetched, or is neither an HTML page nor a feed.
    """
    budget = time.monotonic() + options.feed_timeout
    page = _fetch(url, options)
    shown = public_url(url)  # a password in the URL is sent, never shown or stored
    if is_feed(page):
        return _read_feed(shown, page, options, budget)
    if page.content_type in _HTML_TYPES:
        return [article_from_html(_text(page), shown, url_id(shown), url=shown)], []
    raise SourceError(
        f"{shown}: not an HTML page or an RSS/Atom feed (the server says {page.content_type!r})"
    )


def limits(options: SourceOptions) -> Limits:
    """How far one fetch may go, as the options say."""
    return Limits(
        timeout=options.fetch_timeout,
        max_bytes=options.max_download_bytes,
        allow_private=options.allow_private_urls,
    )


def _fetch(url: str, options: SourceOptions, deadline: float | None = None) -> Page:
    try:
        return fetch(url, limits(options), deadline)
    except OutOfTime as error:  # the deadline given: a feed's budget
        raise SourceError(
            f"{public_url(url)}: not read: the feed's time budget of "
            f"{options.feed_timeout:g} s ran out while fetching it (QUOTEBOT_FEED_TIMEOUT)"
        ) from error
    except FetchError as error:
        raise SourceError(f"{public_url(url)}: {error}") from error


def _text(page: Page) -> bytes | str:
    """The page as text when the server named its charset; else bytes for trafilatura
    to decode (it reads the page's own <meta charset>)."""
    if page.charset:
        try:
            return page.body.decode(page.charset)
        except (LookupError, UnicodeDecodeError):
            pass
    return page.body


def is_feed(page: Page) -> bool:
    """Whether a fetched page is an RSS or Atom feed (by its type, or its root element)."""
    if page.content_type in _FEED_TYPES:
        return True
    return page.content_type in _XML_TYPES and bool(_FEED_ROOT.search(page.body[:2048]))


def _read_feed(
    url: str, page: Page, options: SourceOptions, budget: float
) -> tuple[list[Article], list[SourceError]]:
    """The feed's entries, read within one time budget for the whole feed."""
    entries, errors = feed_entries(url, page, options)
    articles: list[Article] = []
    for number, entry in enumerate(entries, start=1):
        if time.monotonic() >= budget:
            errors.append(out_of_time(url, options, len(entries) - number + 1, len(entries)))
            break
        try:
            articles.append(entry_article(url, number, entry, options, budget))
        except SourceError as error:
            errors.append(error)
    return articles, errors


def feed_entries(
    url: str, page: Page, options: SourceOptions
) -> tuple[list[Any], list[SourceError]]:
    """The entries of a fetched feed (feedparser's), at most ``max_feed_entries`` of them;
    an error says how many more there were.

    Raises:
        SourceError: the feed has no entries (or cannot be parsed).
    """
    feed = feedparser.parse(page.body, response_headers={"content-location": page.url})
    entries: list[Any] = list(feed.entries)
    if not entries:
        reason = f" ({feed.bozo_exception})" if feed.get("bozo") else ""
        raise SourceError(f"{url}: the feed has no entries{reason}")
    errors: list[SourceError] = []
    limit = options.max_feed_entries
    if len(entries) > limit:
        errors.append(
            SourceError(
                f"{url}: only the first {limit} of {len(entries)} feed entries were read "
                "(QUOTEBOT_MAX_FEED_ENTRIES)"
            )
        )
    return entries[:limit], errors


def out_of_time(url: str, options: SourceOptions, left: int, entries: int) -> SourceError:
    """What a feed whose time budget ran out before ``left`` of its entries says."""
    return SourceError(
        f"{url}: the feed's time budget of {options.feed_timeout:g} s ran out "
        f"(QUOTEBOT_FEED_TIMEOUT); {left} of its {entries} entries were not read"
    )


def entry_link(entry: Any) -> str:
    """A feed entry's link (without a password), or "" when it has none."""
    return public_url(str(entry.get("link") or "").strip())


def entry_id(feed_url: str, number: int, entry: Any) -> str:
    """The article id a feed entry is indexed under (as :func:`entry_article` gives it)."""
    link = entry_link(entry)
    return url_id(link) if link else url_id(f"{feed_url}#{number}")


def entry_article(
    feed_url: str, number: int, entry: Any, options: SourceOptions, budget: float
) -> Article:
    """A feed entry's article: the page at its link, or the entry's own content, fetched
    within the feed's time ``budget`` (a ``time.monotonic()`` time)."""
    link = entry_link(entry)
    where = link or f"{feed_url} (entry {number})"
    if link:
        page = _fetch(link, options, budget)
        if page.content_type not in _HTML_TYPES:
            raise SourceError(f"{link}: not an HTML page (the server says {page.content_type!r})")
        article = article_from_html(_text(page), link, url_id(link), url=link, source=feed_url)
    else:
        content = entry.get("content") or [{}]
        html = str(content[0].get("value") or entry.get("summary") or "")
        if not html.strip():
            raise SourceError(f"{where}: the entry has no link and no text")
        title = str(entry.get("title") or "")
        head = f"<title>{html_text.escape(title)}</title>"
        wrapped = f"<html><head>{head}</head><body>{html}</body></html>"
        article = article_from_html(wrapped, where, entry_id(feed_url, number, entry), url=None)
    # The feed's own title and date are the publisher's; prefer them where given.
    title = " ".join(str(entry.get("title") or "").split()) or article.title
    published = str(entry.get("published") or entry.get("updated") or "") or article.published
    return Article(
        id=article.id,
        title=title,
        paragraphs=article.paragraphs,
        url=article.url,
        published=published,
        source=feed_url,
    )
