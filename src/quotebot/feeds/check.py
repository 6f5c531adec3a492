"""Checking one feed: a conditional GET, then the entries that are new or changed fetched,
and those past the feed's keep period found, each within every fetch limit (time, size,
entry count, private addresses) and the feed's time budget."""

from __future__ import annotations

import calendar
import hashlib
import json
import time
from dataclasses import dataclass, field, replace
from typing import Any

from quotebot.records import Article
from quotebot.sources import SourceError, SourceOptions, web
from quotebot.sources.fetch import FetchError, StatusError, fetch, public_url
from quotebot.storage import Feed, HeldEntry

MAX_BACKOFF = 86400.0
"""A failing feed is tried at least once a day (unless its server asks for longer)."""
BUSY_RETRY = 60.0
"""Seconds until a feed whose entries found the index busy (another process changing it) is
checked again."""


@dataclass
class Checked:
    """What checking one feed found, to be put into the index; ``feed`` is its state for
    when the change is made (or :meth:`failed` when it is not), ``leased`` as it was."""

    leased: Feed
    feed: Feed
    articles: list[Article] = field(default_factory=list)
    """New and changed entries, read."""
    expired: list[str] = field(default_factory=list)
    """Held entries past the keep period."""
    not_modified: bool = False
    skipped: list[str] = field(default_factory=list)
    """Entries that could not be read (tried again at the next poll)."""
    error: str | None = None
    """Why the feed could not be checked (it is backed off)."""

    def failed(self, reason: str, now: float, retry_after: float | None = None) -> Checked:
        """This check failed: the feed's entries and validators stay as they were, and it
        is tried again after its back-off (``every`` doubled with each failure in a row, at
        least what a ``Retry-After`` asked for)."""
        feed = self.leased
        failures = feed.failures + 1
        wait = max(min(feed.every * 2 ** (failures - 1), MAX_BACKOFF), feed.every)
        wait = max(wait, retry_after or 0.0)
        failed = replace(feed, failures=failures, error=reason, checked_at=now, next_at=now + wait)
        return Checked(feed, failed, error=reason)

    def postponed(self, reason: str) -> Checked:
        """What this check found could not be indexed (another process was changing the
        index): none of it is kept, the feed is not counted as failing, and it is checked again
        :data:`BUSY_RETRY` seconds after this check."""
        now = self.feed.checked_at or time.time()
        later = replace(self.leased, checked_at=now, next_at=now + BUSY_RETRY)
        return Checked(self.leased, later, error=reason)


def check(feed: Feed, others: set[str], options: SourceOptions, now: float) -> Checked:
    """Check a feed due at ``now``: fetch it (``If-None-Match``, ``If-Modified-Since``),
    then each entry it lists that it does not hold yet or that changed.

    Args:
        feed: The feed, as leased.
        others: Ids of articles in the index that this feed does not hold (added by hand,
            or by another feed): left alone.
        options: The fetch limits.
        now: The time (seconds since the epoch) the keep periods count to.
    """
    after = replace(feed, entries=dict(feed.entries), checked_at=now, next_at=now + feed.every)
    done = Checked(feed, after)
    budget = time.monotonic() + options.feed_timeout
    shown = public_url(feed.url)
    headers = {"If-None-Match": feed.etag or "", "If-Modified-Since": feed.last_modified or ""}
    try:
        page = fetch(
            feed.url,
            web.limits(options),
            budget,
            {name: value for name, value in headers.items() if value},
        )
    except StatusError as error:
        return done.failed(str(error), now, error.retry_after)
    except FetchError as error:
        return done.failed(str(error), now)
    listed: set[str] = set()
    if page.status == 304:
        done.not_modified = True
    elif not web.is_feed(page):
        return done.failed(f"not an RSS or Atom feed (the server says {page.content_type!r})", now)
    else:
        try:
            entries, errors = web.feed_entries(shown, page, options)
        except SourceError as error:
            return done.failed(str(error).removeprefix(f"{shown}: "), now)
        done.skipped += [str(e) for e in errors]
        listed = _read_entries(done, entries, others, options, now, budget)
        if not done.skipped:  # else read it whole again next time, for what was missed
            done.feed.etag = page.headers.get("etag")
            done.feed.last_modified = page.headers.get("last-modified")
    for article_id, held in done.feed.entries.items():
        if article_id not in listed and now - held.date > feed.keep:
            done.expired.append(article_id)
    for article_id in done.expired:
        done.feed.entries.pop(article_id, None)
    return done


def _read_entries(
    done: Checked,
    entries: list[Any],
    others: set[str],
    options: SourceOptions,
    now: float,
    budget: float,
) -> set[str]:
    """Read the entries that are new or changed into ``done``; the ids the feed lists."""
    feed = done.feed
    listed = set()
    for number, entry in enumerate(entries, start=1):
        article_id = web.entry_id(feed.url, number, entry)
        listed.add(article_id)
        held = feed.entries.get(article_id)
        date = _date(entry) or (held.date if held else now)
        if now - date > feed.keep:
            if held is not None:
                done.expired.append(article_id)
            continue
        fingerprint = _fingerprint(entry)
        if (held is None and article_id in others) or (held and held.fingerprint == fingerprint):
            continue
        if time.monotonic() >= budget:
            left = len(entries) - number + 1
            done.skipped.append(
                str(web.out_of_time(public_url(feed.url), options, left, len(entries)))
            )
            break
        try:
            done.articles.append(web.entry_article(feed.url, number, entry, options, budget))
        except SourceError as error:
            done.skipped.append(str(error))
            continue
        feed.entries[article_id] = HeldEntry(web.entry_link(entry), date, fingerprint)
    return listed


def _date(entry: Any) -> float | None:
    """When the feed says an entry was published (or else updated), if it says."""
    for key in ("published_parsed", "updated_parsed"):
        parsed = entry.get(key) if key in entry else None  # not feedparser's fallback
        if parsed:
            return float(calendar.timegm(parsed))
    return None


def _fingerprint(entry: Any) -> str:
    """A hash of the entry as the feed describes it: title, link, dates, summary, content."""
    content = [str(part.get("value", "")) for part in entry.get("content") or []]
    said = [
        str(entry.get(key) or "") if key in entry else ""
        for key in ("title", "link", "published", "updated", "summary")
    ]
    return hashlib.sha256(json.dumps([*said, *content]).encode()).hexdigest()[:32]
