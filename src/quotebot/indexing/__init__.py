"""Turning sources into a new index version: read, split, embed (:mod:`quotebot.embedding`,
the embedder the question path uses too), store.

Every change (build, add, remove) writes a complete new version; passages whose text was
embedded before reuse their vectors from the live version instead of being embedded again.
Sources are read before the writer lock is taken; reading the live index, embedding and
writing happen under it, so two writers never lose each other's changes.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from quotebot import embedding, storage
from quotebot.indexing.passages import split_passages
from quotebot.records import Article, Passage
from quotebot.sources import SourceError, SourceOptions, read_sources

__all__ = [
    "IndexOptions",
    "Progress",
    "Report",
    "add",
    "build",
    "embed_passages",
    "embedding",
    "follow_folder",
    "remove",
    "update",
]

Progress = Callable[[int, int], None]
"""Told (done, total) passages as embedding goes on."""

EMBED_CHUNK = 64  # passages per encode call (the backend batches them by length); progress
# is told after each, so that a change can be stopped within a second or two


@dataclass(frozen=True)
class IndexOptions:
    """How a change reads and splits articles (a front end makes them from the settings)."""

    max_passages: int = 2000
    """Passages kept of one article, its first (``QUOTEBOT_MAX_PASSAGES``)."""
    sources: SourceOptions = field(default_factory=SourceOptions)
    """Limits on reading files and fetching URLs."""


@dataclass
class Report:
    """What a change did to the index."""

    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    skipped: list[SourceError] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # what the user should know (a recovery)
    articles: int = 0  # in the index afterwards
    passages: int = 0  # in the index afterwards
    embedded: int = 0  # passages embedded by this change (the rest were reused)
    version: str | None = None  # the new live version's name; None when nothing changed

    @property
    def indexed(self) -> int:
        """Articles read from the sources and now in the index."""
        return len(self.added) + len(self.updated) + len(self.unchanged)


def build(
    location: storage.Location,
    sources: Iterable[str | Path],
    progress: Progress | None = None,
    options: IndexOptions = IndexOptions(),
) -> Report:
    """Build the index from scratch from sources; only when complete does it go live.

    Unreadable sources are reported in ``skipped``; when nothing can be read, the live
    index is left as it was.
    """
    store = storage.open_store(location)
    read = read_sources(sources, options.sources)
    report = Report(skipped=read.errors)
    if not read.articles:  # the index stays as it was; say what it holds
        _count(report, storage.live_or_none(store, None, strict=False))
        return report
    with store.changing(embedding.DIMENSION) as change:
        report.notes += change.notes
        previous = change.live(embedding.MODEL, strict=False)
        old = _hashes(previous)
        for article in read.articles:
            _classify(report, article, old.get(article.id))
        report.removed = [i for i in old if i not in {a.id for a in read.articles}]
        _write(change, read.articles, previous, report, progress, options)
    return report


def add(
    location: storage.Location,
    sources: Iterable[str | Path],
    progress: Progress | None = None,
    options: IndexOptions = IndexOptions(),
) -> Report:
    """Add articles to the index, replacing those with the same id; the rest stay."""
    store = storage.open_store(location)
    read = read_sources(sources, options.sources)
    report = Report(skipped=read.errors)
    if not read.articles:
        _count(report, storage.live_or_none(store, None, strict=False))
        return report
    with store.changing(embedding.DIMENSION) as change:
        report.notes += change.notes
        previous = change.live(embedding.MODEL, strict=True)
        articles = _merged(report, previous, read.articles)
        if report.added or report.updated:
            _write(change, list(articles.values()), previous, report, progress, options)
        else:
            _count(report, previous)
    return report


def follow_folder(
    location: storage.Location,
    folder: Path,
    progress: Progress | None = None,
    options: IndexOptions = IndexOptions(),
) -> Report:
    """Bring the index in line with a folder of articles (what ``quotebot run`` does): add
    what is new or changed there, and remove the articles read from it before whose file
    is gone (or, for a JSON Lines file read again, no longer holds them). Articles from
    elsewhere (``index add``, the bot's /add) stay, and so do those of a file that could
    not be read this time.
    """
    read = read_sources([folder], options.sources)
    report = Report(skipped=read.errors)
    with storage.open_store(location).changing(embedding.DIMENSION) as change:
        report.notes += change.notes
        previous = change.live(embedding.MODEL, strict=True)
        articles = _merged(report, previous, read.articles)
        fresh = {a.id for a in read.articles}
        read_again = {_file_of(a.source) for a in read.articles}
        for article in list(articles.values()):
            path = _file_of(article.source)
            from_folder = path.startswith(f"{folder}{os.sep}") and article.id not in fresh
            if from_folder and (path in read_again or not os.path.exists(path)):
                report.removed.append(article.id)
                del articles[article.id]
        if report.added or report.updated or report.removed:
            _write(change, list(articles.values()), previous, report, progress, options)
        else:
            _count(report, previous)
    return report


def update(
    location: storage.Location,
    articles: Sequence[Article],
    removing: Iterable[str] = (),
    progress: Progress | None = None,
    options: IndexOptions = IndexOptions(),
) -> Report:
    """Put articles already read into the index (replacing those with the same id) and take
    the ``removing`` ids out, in one change; everything else stays (a feed's poll)."""
    report = Report()
    with storage.open_store(location).changing(embedding.DIMENSION) as change:
        report.notes += change.notes
        previous = change.live(embedding.MODEL, strict=True)
        merged = _merged(report, previous, articles)
        report.removed = [i for i in dict.fromkeys(removing) if merged.pop(i, None) is not None]
        if report.added or report.updated or report.removed:
            _write(change, list(merged.values()), previous, report, progress, options)
        else:
            _count(report, previous)
    return report


def _not_held(article_id: str, articles: dict[str, Article]) -> str:
    """What to say to an id the index does not hold; a file name or path gets a hint."""
    said = f"{article_id}: no such article in the index"
    stem = Path(article_id).stem
    if stem != article_id and stem in articles:
        return f"{said} (remove takes ids, not file names: did you mean {stem}?)"
    if stem != article_id or "/" in article_id:
        return f"{said} (remove takes ids, not file names; `quotebot index list` shows them)"
    return said


def _merged(
    report: Report, previous: storage.Version | None, read: Sequence[Article]
) -> dict[str, Article]:
    """The live version's articles by id with those read put in (each classified in the
    report as added, updated or unchanged), for a change that keeps what it does not name."""
    articles = {a.id: a for a in previous.read_articles()} if previous else {}
    old = _hashes(previous)
    for article in read:
        _classify(report, article, old.get(article.id))
        articles[article.id] = article
    return articles


def _file_of(source: str | None) -> str:
    """The file an article was read from (its source without a JSON Lines line number)."""
    source = source or ""
    path, _, line = source.rpartition(":")
    return path if line.isdigit() and path.endswith((".json", ".jsonl")) else source


def remove(
    location: storage.Location, ids: Iterable[str], options: IndexOptions = IndexOptions()
) -> Report:
    """Remove articles by id. Ids not in the index are reported in ``skipped``."""
    report = Report()
    store = storage.open_store(location)
    with store.changing(embedding.DIMENSION) as change:
        report.notes += change.notes
        previous = store.open(embedding.MODEL, writing=True)
        articles = {a.id: a for a in previous.read_articles()}
        for article_id in ids:
            if articles.pop(article_id, None) is None:
                report.skipped.append(SourceError(_not_held(article_id, articles)))
            else:
                report.removed.append(article_id)
        if report.removed:
            _write(change, list(articles.values()), previous, report, None, options)
        else:
            _count(report, previous)
    return report


def _classify(report: Report, article: Article, old_hash: str | None) -> None:
    """Added, updated or unchanged, by the article's content hash."""
    if old_hash is None:
        report.added.append(article.id)
    elif old_hash != article.content_hash:
        report.updated.append(article.id)
    else:
        report.unchanged.append(article.id)


def _hashes(index: storage.Version | None) -> dict[str, str]:
    """The content hash of each indexed article, as stored (computed for older indexes)."""
    if index is None:
        return {}
    stored = {info.id: info.content_hash for info in index.articles()}
    if all(stored.values()):
        return stored
    return {a.id: a.content_hash for a in index.read_articles()}


def _count(report: Report, index: storage.Version | None) -> None:
    if index is not None:
        report.articles, report.passages = index.manifest.articles, len(index)


def _write(
    change: storage.Change,
    articles: list[Article],
    previous: storage.Version | None,
    report: Report,
    progress: Progress | None,
    options: IndexOptions,
) -> None:
    limit = options.max_passages
    passages = []
    for article in articles:
        kept = split_passages(article, limit + 1)  # one more, to know whether it was cut
        if len(kept) > limit:
            report.notes.append(
                f"{article.source or article.id}: only its first {limit} passages were "
                "indexed (QUOTEBOT_MAX_PASSAGES)"
            )
        passages += kept[:limit]
    vectors, report.embedded = embed_passages(passages, previous, progress)
    report.version = change.write(articles, passages, vectors, model=embedding.MODEL_NAME)
    report.articles, report.passages = len(articles), len(passages)


def embed_passages(
    passages: list[Passage],
    previous: storage.Version | None = None,
    progress: Progress | None = None,
) -> tuple[np.ndarray, int]:
    """Vectors for passages: reused from ``previous`` where the same text was embedded,
    computed in chunks for the rest.

    Returns:
        The vectors (row i for passage i) and how many passages were embedded.
    """
    known = previous.rows_by_hash() if previous is not None else {}
    size = previous.manifest.dimension if previous is not None else embedding.dimension()
    vectors = np.zeros((len(passages), size), dtype=np.float32)
    todo: list[int] = []
    reused: dict[int, int] = {}  # passage -> its row in the previous version
    for i, passage in enumerate(passages):
        row = known.get(passage.content_hash)
        if row is None:
            todo.append(i)
        else:
            reused[i] = row
    if previous is not None and reused:
        vectors[list(reused)] = previous.vectors_of(list(reused.values()))
    for start in range(0, len(todo), EMBED_CHUNK):
        chunk = todo[start : start + EMBED_CHUNK]
        vectors[chunk] = embedding.encode([passages[i].embedding_text for i in chunk])
        if progress:
            progress(start + len(chunk), len(todo))
    return vectors, len(todo)
