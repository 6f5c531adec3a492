"""The feeds a folder index follows: ``feeds.json`` beside its versions, replaced atomically
(written whole under a temporary name, then renamed), read and changed under ``feeds.lock``
so that two processes never lose each other's change or poll one feed twice."""

from __future__ import annotations

import fcntl
import json
import os
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TypeVar

from quotebot.storage.protocol import StoreError
from quotebot.storage.subscriptions import Feed

FEEDS = "feeds.json"
FEEDS_LOCK = "feeds.lock"
T = TypeVar("T")


@dataclass(frozen=True)
class FolderSubscriptions:
    """The feeds followed by the index in ``path`` (a ``storage.Subscriptions``)."""

    path: Path

    def follow(self, feed: Feed) -> Feed | None:
        def change(feeds: dict[str, Feed]) -> Feed | None:
            before = feeds.get(feed.url)
            if before is None:
                feeds[feed.url] = feed
            else:
                feeds[feed.url] = replace(before, every=feed.every, keep=feed.keep)
            return before

        return self._change(change)

    def unfollow(self, url: str) -> Feed | None:
        return self._change(lambda feeds: feeds.pop(url, None))

    def feeds(self) -> list[Feed]:
        return list(self._read().values())

    def lease(self, now: float, until: float) -> list[Feed]:
        def take(feeds: dict[str, Feed]) -> list[Feed]:
            due = [f for f in feeds.values() if f.next_at <= now and f.leased_until < now]
            for feed in due:
                feed.leased_until = until
            return due

        return self._change(take) if (self.path / FEEDS).exists() else []

    def save(self, feed: Feed) -> None:
        def record(feeds: dict[str, Feed]) -> None:
            stored = feeds.get(feed.url)
            if stored is not None:
                feeds[feed.url] = replace(
                    feed, every=stored.every, keep=stored.keep, leased_until=0.0
                )

        self._change(record)

    def _read(self) -> dict[str, Feed]:
        try:
            text = (self.path / FEEDS).read_text()
        except FileNotFoundError:
            return {}
        except OSError as error:
            raise StoreError(f"cannot read {self.path / FEEDS} ({error.strerror})") from error
        try:
            return {data["url"]: Feed.from_dict(data) for data in json.loads(text)["feeds"]}
        except (ValueError, KeyError, TypeError) as error:
            raise StoreError(
                f"{self.path / FEEDS} cannot be read ({error}); fix or delete it and follow "
                "the feeds again with `quotebot feed add`"
            ) from error

    def _change(self, change: Callable[[dict[str, Feed]], T]) -> T:
        """``change(feeds)`` under the lock, then the feeds written back, atomically."""
        with self._locked():
            feeds = self._read()
            result = change(feeds)
            data = {"feeds": [feed.to_dict() for feed in feeds.values()]}
            with tempfile.NamedTemporaryFile(
                "w", dir=self.path, prefix=".feeds-", delete=False
            ) as file:
                json.dump(data, file, indent=1)
                file.flush()
                os.fsync(file.fileno())
            os.replace(file.name, self.path / FEEDS)
            return result

    @contextmanager
    def _locked(self) -> Iterator[None]:
        try:
            self.path.mkdir(parents=True, exist_ok=True)
            lock = open(self.path / FEEDS_LOCK, "a")  # noqa: SIM115  (closed below)
        except OSError as error:
            raise StoreError(
                f"cannot write the feeds of {self.path} ({error.strerror or error})"
            ) from error
        with lock:
            fcntl.flock(lock, fcntl.LOCK_EX)  # held for a read and a write: moments
            yield
