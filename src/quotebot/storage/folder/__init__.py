"""The index as a folder of versions on this machine (the default store).

Layout (a version's files: :mod:`~quotebot.storage.folder.version`; how versions come and
go: :mod:`~quotebot.storage.folder.versions`)::

    CURRENT            the name of the live version (replaced atomically)
    LOCK               held (flock) by the one process changing the index
    v-<seq>-<time>/    one complete version
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from quotebot.records import Article, Passage
from quotebot.storage.folder.dense import DEFAULT as DEFAULT_DENSE
from quotebot.storage.folder.dense import DenseOptions
from quotebot.storage.folder.subscriptions import FEEDS, FolderSubscriptions
from quotebot.storage.folder.version import (
    DATABASE,
    KEYWORDS,
    VECTORS,
    FolderVersion,
    load_manifest,
    write_version,
)
from quotebot.storage.folder.versions import (
    CURRENT,
    LOCK,
    MANIFEST,
    complete_versions,
    current_version,
    set_current,
    writer,
)
from quotebot.storage.protocol import IndexDamaged, Model, StoreError, Version, live_or_none

log = logging.getLogger(__name__)

__all__ = [
    "CURRENT",
    "DenseOptions",
    "DATABASE",
    "FEEDS",
    "KEYWORDS",
    "LOCK",
    "MANIFEST",
    "VECTORS",
    "FolderStore",
    "FolderVersion",
    "complete_versions",
    "current_version",
    "load_manifest",
    "open_index",
    "recover",
    "write_version",
    "writer",
]


@dataclass(frozen=True)
class FolderStore:
    """An index kept in a folder of versions (a ``storage.Store``)."""

    path: Path
    dense: DenseOptions = DEFAULT_DENSE

    def __str__(self) -> str:
        return str(self.path)

    def open(self, model: Model | None = None, *, writing: bool = False) -> FolderVersion:
        return open_index(self.path, model, writing=writing)

    def live_version(self) -> str | None:
        version = current_version(self.path)
        return None if version is None else version.name

    def has_index(self) -> bool:
        return current_version(self.path) is not None or bool(complete_versions(self.path))

    @contextmanager
    def changing(self, dimension: int) -> Iterator[FolderChange]:
        """Its lock file (another writer is refused, ``IndexLocked``), an unreadable
        CURRENT recovered first."""
        with writer(self.path):
            change = FolderChange(self)
            version = recover(self.path)
            if version is not None:
                change.notes.append(
                    f"{self.path / CURRENT} could not be read; recovered the newest good "
                    f"version, {version.name}"
                )
            yield change

    def written_at(self) -> float | None:
        version = current_version(self.path)
        return None if version is None else version.stat().st_mtime

    def size_on_disk(self) -> int:
        version = current_version(self.path)
        if version is None:
            return 0
        return sum(f.stat().st_size for f in version.rglob("*") if f.is_file())

    def subscriptions(self) -> FolderSubscriptions:
        """``feeds.json`` beside the versions."""
        return FolderSubscriptions(self.path)


@dataclass
class FolderChange:
    """One change of an index folder, under its lock."""

    store: FolderStore
    notes: list[str] = field(default_factory=list)

    def live(self, model: Model, *, strict: bool) -> Version | None:
        return live_or_none(self.store, model, strict=strict)

    def write(
        self,
        articles: Sequence[Article],
        passages: Sequence[Passage],
        vectors: np.ndarray,
        model: str,
    ) -> str:
        return write_version(
            self.store.path, articles, passages, vectors, model, self.store.dense
        ).name


def open_index(
    index_dir: Path, model: Model | None = None, *, writing: bool = False
) -> FolderVersion:
    """Open the live version of the index in index_dir (with ``model``, only if that model
    made it: what answers and adds to an index must embed as it was embedded). A damaged
    live version is an error for a writer (what it adds would drop what the damaged version
    holds); a reader gets the newest good version before it, with a warning.

    Raises:
        StoreError: there is no index there, or it cannot be read.
    """
    while True:
        path = current_version(index_dir)
        if path is None:
            fallback = _newest_good(index_dir, model)
            if fallback is not None:
                return fallback
            raise StoreError(
                f"no index in {index_dir}; build one with `quotebot index build` "
                "(or set QUOTEBOT_INDEX_DIR to where yours is)"
            )
        try:
            return FolderVersion(path, model)
        except StoreError as error:
            if current_version(index_dir) != path:
                continue  # a newer version went live (and this one was deleted) as we opened it
            older = None if writing else _newest_good(index_dir, model, before=path)
            if writing or not isinstance(error, IndexDamaged) or older is None:
                raise
            log.warning(
                "%s; meanwhile answering from the version before it, %s", error, older.version
            )
            return older


def _newest_good(
    index_dir: Path, model: Model | None, before: Path | None = None
) -> FolderVersion | None:
    """The newest complete version (older than ``before``, if given) that opens, opened."""
    versions = complete_versions(index_dir)  # oldest first
    if before is not None:
        versions = versions[: versions.index(before)] if before in versions else []
    for version in reversed(versions):
        try:
            index = FolderVersion(version, model)
        except StoreError:
            continue
        if before is None:
            log.warning("%s cannot be read; using the newest good version, %s", CURRENT, version)
        return index
    return None


def recover(index_dir: Path) -> Path | None:
    """Make the newest good version live again when CURRENT is unreadable (garbled, empty,
    naming a missing folder) while versions exist; call it holding the writer lock.

    Returns:
        The version made live, or None when CURRENT was fine or no version exists.

    Raises:
        StoreError: versions exist, but none of them can be opened; nothing is touched.
    """
    if current_version(index_dir) is not None or not complete_versions(index_dir):
        return None
    good = _newest_good(index_dir, None)
    if good is None:
        raise StoreError(
            f"{index_dir / CURRENT} cannot be read and no version in {index_dir} opens; "
            "nothing was changed (rebuild it with `quotebot index build` into another folder)"
        )
    good.close()
    set_current(index_dir, good.path)
    return good.path
