"""What every reader of sources shares: the error it reports and the limits it keeps."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from quotebot.settings import Settings

MAX_FILE_BYTES = 20 * 1024 * 1024
_BLANK_LINES = re.compile(r"\n\s*\n")


class SourceError(Exception):
    """A source that cannot be read. The message names the source and says why."""


@dataclass(frozen=True)
class SourceOptions:
    """Limits on reading sources; a front end makes them :meth:`from_settings`."""

    max_file_bytes: int = MAX_FILE_BYTES
    max_download_bytes: int = 10 * 1024 * 1024
    fetch_timeout: float = 15.0
    allow_private_urls: bool = False
    max_feed_entries: int = 50
    feed_timeout: float = 60.0

    @classmethod
    def from_settings(cls, settings: Settings) -> SourceOptions:
        """The options the QUOTEBOT_* settings give (see .env.example)."""
        return cls(
            max_file_bytes=int(settings.sources.max_file_mb * 1e6),
            max_download_bytes=int(settings.sources.max_download_mb * 1e6),
            fetch_timeout=settings.sources.fetch_timeout,
            allow_private_urls=settings.sources.allow_private_urls,
            max_feed_entries=settings.sources.max_feed_entries,
            feed_timeout=settings.sources.feed_timeout,
        )


def clean_paragraphs(texts: Iterable[str]) -> list[str]:
    """The texts with their whitespace collapsed to single spaces, empty ones left out."""
    paragraphs = (" ".join(text.split()) for text in texts)
    return [p for p in paragraphs if p]


def split_paragraphs(text: str) -> list[str]:
    """Split text into paragraphs at blank lines, joining wrapped lines within each."""
    return clean_paragraphs(_BLANK_LINES.split(text.replace("\r\n", "\n").replace("\r", "\n")))
