"""The feeds an index follows, kept with the index (a JSON file beside the folder's versions,
or a table in its database), behind one small contract: :class:`Subscriptions`.

A poller takes the feeds that are due with :meth:`Subscriptions.lease`, which marks them
leased for a while in the same step, so that several processes (replicas of the bot on one
database, a cron job beside them) poll each feed once; :meth:`Subscriptions.save` records
what the poll found and lets the lease go.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Protocol


@dataclass(frozen=True)
class HeldEntry:
    """A feed entry the feed brought into the index (by its article id)."""

    url: str
    """Its link ("" for an entry without one)."""
    date: float
    """When it was published (seconds since the epoch), or first seen when the feed gives
    no date: what its keep period counts from."""
    fingerprint: str
    """A hash of the entry as the feed describes it; another one means it changed."""


@dataclass
class Feed:
    """A followed feed: how often it is polled and how long its entries stay, and what the
    last polls found."""

    url: str
    every: float
    """Seconds between polls."""
    keep: float
    """Seconds an entry stays in the index, from its date."""
    added_at: float = 0.0
    checked_at: float | None = None
    """When it was last polled."""
    new_at: float | None = None
    """When a poll last brought a new entry."""
    next_at: float = 0.0
    """When it is due next (sooner after a success, later while it fails)."""
    leased_until: float = 0.0
    """Until when a poller has it (0: none)."""
    failures: int = 0
    """Polls that failed in a row (the back-off doubles with each)."""
    error: str | None = None
    """Why the last poll failed, None when it did not."""
    etag: str | None = None
    last_modified: str | None = None
    entries: dict[str, HeldEntry] = field(default_factory=dict)
    """The entries it holds in the index, by article id."""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Feed:
        known = {key: data[key] for key in cls.__dataclass_fields__ if key in data}
        known["entries"] = {
            article_id: HeldEntry(**entry) for article_id, entry in data.get("entries", {}).items()
        }
        return cls(**known)


class Subscriptions(Protocol):
    """The feeds followed by one index (``Store.subscriptions()``)."""

    def follow(self, feed: Feed) -> Feed | None:
        """Follow a feed; one followed already takes the new ``every`` and ``keep`` and keeps
        the rest. Returns the feed as it was before, None when it is new."""

    def unfollow(self, url: str) -> Feed | None:
        """Stop following a feed; the feed as it was, None when it was not followed."""

    def feeds(self) -> list[Feed]:
        """Every followed feed, in the order they were added."""

    def lease(self, now: float, until: float) -> list[Feed]:
        """The feeds due at ``now`` that no poller holds, each now held until ``until``, in
        one atomic step (another poller does not get them)."""

    def save(self, feed: Feed) -> None:
        """Record what a poll found and let its lease go (the ``every`` and ``keep`` stored
        win, should they have changed meanwhile); nothing when the feed was unfollowed."""
