"""Where the index lives, behind one contract (:mod:`quotebot.storage.protocol`): a folder of
versions on this machine (:mod:`quotebot.storage.folder`, the default) or a PostgreSQL
database with pgvector (:mod:`quotebot.storage.postgres`), chosen once, by
:func:`open_store`, from where the index is.

Adding a store: a package beside ``folder/`` and ``postgres/`` with a class that keeps the
:class:`Store` contract (and its :class:`Version` and :class:`Change`), one branch in
:func:`open_store`, and one parameter in ``tests/conftest.py``'s ``store`` fixture, which
runs ``tests/test_store_contract.py`` on it.
"""

from __future__ import annotations

from pathlib import Path

from quotebot.storage.folder import (
    CURRENT,
    FEEDS,
    LOCK,
    MANIFEST,
    VECTORS,
    DenseOptions,
    FolderStore,
    FolderVersion,
    complete_versions,
    current_version,
    open_index,
    recover,
    write_version,
    writer,
)
from quotebot.storage.postgres import Database
from quotebot.storage.protocol import (
    Change,
    IndexDamaged,
    IndexLocked,
    Manifest,
    Model,
    Store,
    StoreError,
    Version,
    check_model,
    live_or_none,
)
from quotebot.storage.subscriptions import Feed, HeldEntry, Subscriptions

Index = FolderVersion
"""The folder store's opened version (the name the fit scripts use)."""
Location = Store | Path
"""Where an index is: a store, or the path of an index folder (a :class:`FolderStore`)."""

__all__ = [
    "CURRENT",
    "FEEDS",
    "LOCK",
    "MANIFEST",
    "VECTORS",
    "Change",
    "Database",
    "DenseOptions",
    "Feed",
    "FolderStore",
    "HeldEntry",
    "Index",
    "IndexDamaged",
    "IndexLocked",
    "Location",
    "Manifest",
    "Model",
    "Store",
    "StoreError",
    "Subscriptions",
    "Version",
    "check_model",
    "complete_versions",
    "current_version",
    "live_or_none",
    "open_index",
    "open_store",
    "store_at",
    "recover",
    "write_version",
    "writer",
]


def open_store(where: Location) -> Store:
    """The store of the index at ``where``: a store as it is, or a folder path (made
    absolute, so that what is said about it is unambiguous: "no index in /srv/q/index").

    With :func:`store_at`, the one place that knows which kinds of store exist.
    """
    if isinstance(where, Path):
        return FolderStore(where.absolute())
    return where


def store_at(
    index_dir: Path, database_url: str | None = None, dense: DenseOptions | None = None
) -> Store:
    """The store a front end's options name: the database when a URL is given, else the
    index folder (writing the FAISS index ``dense`` says)."""
    if database_url:
        return Database(database_url)
    return FolderStore(index_dir.absolute(), dense or DenseOptions())
