"""Turning sources into a new index version: read, split, embed, store."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from quotebot import embedding, store
from quotebot.articles import SourceError, read_sources
from quotebot.passages import Passage, split_passages

Progress = Callable[[int, int], None]
"""Told (done, total) passages as embedding goes on."""

EMBED_CHUNK = 64


@dataclass
class BuildReport:
    """What a build did: the articles indexed and the sources skipped."""

    articles: int = 0
    passages: int = 0
    skipped: list[SourceError] = field(default_factory=list)
    version: Path | None = None


def build(
    index_dir: Path, sources: Iterable[str | Path], progress: Progress | None = None
) -> BuildReport:
    """Build a new index from sources, replacing the live one only when complete.

    Unreadable sources are reported in the result and skipped. When nothing at all
    can be read, the live index is left as it was.

    Args:
        index_dir: The index folder.
        sources: Files or folders to read.
        progress: Called with (done, total) passages while embedding. Defaults to None.

    Returns:
        The counts, the skipped sources and the new version (None if nothing was read).
    """
    read = read_sources(sources)
    report = BuildReport(skipped=read.errors)
    if not read.articles:
        return report
    passages = [p for article in read.articles for p in split_passages(article)]
    vectors = embed_passages(passages, progress)
    report.version = store.write_version(
        index_dir, read.articles, passages, vectors, model=embedding.MODEL_NAME
    )
    report.articles, report.passages = len(read.articles), len(passages)
    return report


def embed_passages(passages: list[Passage], progress: Progress | None = None) -> np.ndarray:
    """Embed passages (with their titles) in chunks, reporting progress."""
    chunks = []
    for start in range(0, len(passages), EMBED_CHUNK):
        batch = passages[start : start + EMBED_CHUNK]
        chunks.append(embedding.encode([p.embedding_text for p in batch]))
        if progress:
            progress(start + len(batch), len(passages))
    if not chunks:
        return embedding.encode([])
    return np.vstack(chunks)
