"""Following feeds: the subscriptions an index keeps (``Store.subscriptions()``), and the
poll that keeps it up to date with them.

A poll pass takes the feeds that are due (leased, so that of several pollers on one index
each feed goes to one), checks each (:mod:`quotebot.feeds.check`: a conditional GET, the new
and changed entries read, those past the keep period found), then makes one change of the
index for all of them (:func:`quotebot.indexing.update`): what is new goes in, what changed
is replaced, what expired comes out; nothing else is touched. Each feed then says what
happened in one line (:meth:`FeedReport.line`).

### Usage example
```python
store = storage.store_at(Path("index"))
feeds = store.subscriptions()
follow(feeds, "https://news.example/rss", every=1800, keep=30 * 86400)
for report in poll(store, feeds, PollOptions()):
    print(report.line())
```
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

from quotebot import indexing, storage
from quotebot.durations import say_duration
from quotebot.feeds.check import Checked, check
from quotebot.sources.fetch import public_url
from quotebot.storage import Feed, IndexLocked, StoreError, Subscriptions
from quotebot.text import counted

__all__ = [
    "Checked",
    "Feed",
    "FeedOptions",
    "FeedReport",
    "PollOptions",
    "check_due",
    "describe",
    "follow",
    "follow_in_background",
    "index_checked",
    "poll",
    "unfollow",
]

log = logging.getLogger(__name__)
_WEB_ADDRESS = re.compile(r"^https?://[^/\s]+", re.IGNORECASE)


@dataclass(frozen=True)
class FeedOptions:
    """The defaults of ``feed add`` and how often running processes look for due feeds."""

    every: float = 30 * 60
    """Seconds between polls of a feed (``QUOTEBOT_FEED_EVERY``, 30m)."""
    keep: float = 30 * 86400
    """Seconds a feed's entry stays, from its date (``QUOTEBOT_FEED_KEEP``, 30d)."""
    check_seconds: float = 60.0
    """How often ``quotebot run`` and the bot look for due feeds."""


@dataclass(frozen=True)
class PollOptions:
    """How a poll reads (the fetch limits) and indexes (the passage cap)."""

    index: indexing.IndexOptions = field(default_factory=indexing.IndexOptions)
    lease: float = 900.0
    """Seconds a poller holds the feeds it took (past them, another may take them)."""


@dataclass(frozen=True)
class FeedReport:
    """What one poll of one feed did."""

    url: str
    new: int = 0
    updated: int = 0
    expired: int = 0
    held: int = 0
    not_modified: bool = False
    skipped: tuple[str, ...] = ()
    error: str | None = None
    next_in: float = 0.0

    def line(self) -> str:
        """One line: "feed URL: 2 new, 1 updated, 3 expired; 41 held", or its error and
        when it is tried again."""
        where = f"feed {public_url(self.url)}"
        if self.error is not None:
            return f"{where}: {self.error}; next try in {say_duration(self.next_in)}"
        done = [f"{count} {label}" for count, label in
                [(self.new, "new"), (self.updated, "updated"), (self.expired, "expired")]
                if count]  # fmt: skip
        if self.not_modified:
            done.insert(0, "not modified")
        said = f"{where}: {', '.join(done) or 'nothing new'}; {self.held} held"
        if self.skipped:
            said += f"; {len(self.skipped)} skipped: " + "; ".join(self.skipped)
        return said

    @property
    def changed(self) -> bool:
        """Whether it changed the index or failed (what a chat is told of)."""
        return bool(self.error or self.new or self.updated or self.expired or self.skipped)


def describe(feed: Feed, now: float) -> str:
    """A followed feed in one line (``feed list``, the bot's /feed list): its URL, how often it
    is polled and how long entries stay, when it was checked and last brought something, how
    many articles it holds, its last error and when it is polled next."""
    parts = [
        public_url(feed.url),
        f"every {say_duration(feed.every)}, keep {say_duration(feed.keep)}",
        f"checked {_ago(feed.checked_at, now)}",
        f"last new entry {_ago(feed.new_at, now)}",
        f"{counted(len(feed.entries), 'article')} held",
    ]
    if feed.error:
        parts.append(f"error: {feed.error} ({counted(feed.failures, 'failure')} in a row)")
    due = feed.next_at - now
    parts.append(f"next poll in {say_duration(due)}" if due > 0 else "due now")
    return "  ".join(parts)


def _ago(when: float | None, now: float) -> str:
    return "never" if when is None else f"{say_duration(now - when)} ago"


def follow(subscriptions: Subscriptions, url: str, every: float, keep: float) -> Feed | None:
    """Follow the feed at ``url``, polled every ``every`` seconds, its entries kept ``keep``
    seconds; due at once. Returns the feed as it was when it was followed already.

    Raises:
        ValueError: ``url`` is not an http(s):// address.
    """
    url = url.strip()
    if not _WEB_ADDRESS.match(url):
        raise ValueError(
            f"{url!r} is not a web address: a feed to follow is an http:// or https:// URL"
        )
    now = time.time()
    return subscriptions.follow(Feed(url, every, keep, added_at=now, next_at=now))


def unfollow(
    store: storage.Store,
    subscriptions: Subscriptions,
    url: str,
    drop_articles: bool = False,
    options: PollOptions = PollOptions(),
) -> tuple[Feed | None, indexing.Report | None]:
    """Stop following a feed; with ``drop_articles``, also remove the entries it brought.

    Returns:
        The feed (None: it was not followed), and the change that removed its entries.
    """
    feed = subscriptions.unfollow(url.strip())
    if feed is None or not drop_articles or not feed.entries or not store.has_index():
        return feed, None
    return feed, indexing.update(store, [], feed.entries, options=options.index)


def poll(
    store: storage.Store,
    subscriptions: Subscriptions,
    options: PollOptions = PollOptions(),
    now: float | None = None,
) -> list[FeedReport]:
    """One pass over the feeds that are due: check them, then index what they brought in
    one change. What a front end runs from cron (``quotebot feed poll``) or on a timer.

    Args:
        now: The time to poll at (seconds since the epoch); defaults to now.

    Returns:
        One report per feed polled (none when none was due).
    """
    checked = check_due(store, subscriptions, options, now)
    return index_checked(store, subscriptions, checked, options) if checked else []


def check_due(
    store: storage.Store,
    subscriptions: Subscriptions,
    options: PollOptions = PollOptions(),
    now: float | None = None,
) -> list[Checked]:
    """The first half of :func:`poll`: lease the due feeds and check each (no index change
    yet, so that the bot can make that one under its writers' lock)."""
    now = time.time() if now is None else now
    due = subscriptions.lease(now, now + options.lease)
    if not due:
        return []
    indexed = _indexed(store)
    return [check(feed, indexed - set(feed.entries), options.index.sources, now) for feed in due]


def index_checked(
    store: storage.Store,
    subscriptions: Subscriptions,
    checked: Sequence[Checked],
    options: PollOptions = PollOptions(),
) -> list[FeedReport]:
    """The second half of :func:`poll`: one index change for what the checks brought, then
    each feed's state saved (its lease let go). Should the change fail, every feed that
    brought something keeps what it held and is backed off as failed, or, when another
    process was changing the index, checked again in a minute without counting a failure."""
    articles = [article for done in checked for article in done.articles]
    removing = [article_id for done in checked for article_id in done.expired]
    report = indexing.Report()
    if articles or removing:
        try:
            report = indexing.update(store, articles, removing, options=options.index)
        except StoreError as error:
            now = time.time()
            reason = f"not indexed: {error}"
            busy = isinstance(error, IndexLocked)  # another poller or an `index add`: soon again
            checked = [
                (done.postponed(reason) if busy else done.failed(reason, now))
                if done.articles or done.expired
                else done
                for done in checked
            ]
    reports = []
    for done in checked:
        feed = done.feed
        ids = {article.id for article in done.articles}
        new = len(ids & set(report.added))
        if done.error is None:
            feed = replace(feed, failures=0, error=None)
            feed.new_at = feed.checked_at if new else feed.new_at
        subscriptions.save(feed)
        reports.append(
            FeedReport(
                feed.url,
                new=new,
                updated=len(ids & set(report.updated)),
                expired=len(done.expired),
                held=len(feed.entries),
                not_modified=done.not_modified,
                skipped=tuple(done.skipped),
                error=done.error,
                next_in=max(feed.next_at - (feed.checked_at or 0.0), 0.0),
            )
        )
    return reports


def follow_in_background(
    store: storage.Store,
    options: PollOptions,
    every: float,
    say: Callable[[FeedReport], None],
    stop: threading.Event,
) -> threading.Thread:
    """Poll the due feeds every ``every`` seconds in a thread of its own until ``stop`` is
    set (``quotebot run`` with the chat); ``say`` is told each feed's report."""

    def loop() -> None:
        subscriptions = store.subscriptions()
        said = ""
        while not stop.is_set():
            try:
                for report in poll(store, subscriptions, options):
                    say(report)
            except StoreError as error:
                if str(error) != said:  # once, not every pass
                    log.warning("feeds not polled: %s", error)
                said = str(error)
            stop.wait(every)

    thread = threading.Thread(target=loop, name="quotebot-feeds", daemon=True)
    thread.start()
    return thread


def _indexed(store: storage.Store) -> set[str]:
    """The ids of the articles in the live index."""
    if not store.has_index():
        return set()
    version = store.open()
    try:
        return {article.id for article in version.articles()}
    finally:
        version.close()
