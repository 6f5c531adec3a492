"""The contract every index store keeps (a folder of versions, PostgreSQL, a third one).

A :class:`Store` is where an index lives; it opens its live :class:`Version` for reading and
makes one :class:`Change` at a time under its writers' lock. Retrieval, indexing and the core
use only these names, so a new store is a new package with one class of each kind, chosen in
:func:`quotebot.storage.open_store` (the only place that knows which backends exist), and
``tests/test_store_contract.py`` checks it as it checks the others.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from quotebot.records import Article, ArticleInfo, Passage
from quotebot.storage.subscriptions import Subscriptions

FORMAT_VERSION = 1
"""The layout of a version as the manifest records it; a newer one is refused."""


class StoreError(Exception):
    """An index that is missing, broken or built differently. The message says what to do."""


class IndexDamaged(StoreError):
    """A version whose files cannot be read or disagree with its manifest."""


class IndexLocked(StoreError):
    """Another process is changing the index right now."""


Model = tuple[str, int]
"""The embedding model's name and dimension, as the manifest records them."""


@dataclass(frozen=True)
class Manifest:
    """How an index version was built; saved beside it (manifest.json, or a table row)."""

    model: str
    dimension: int
    passages: int
    articles: int
    format_version: int = FORMAT_VERSION
    created_at: str = ""
    dense_index: str = "flat"  # flat, hnsw or ivfpq (FAISS), or pgvector-hnsw
    checksums: dict[str, str] = field(default_factory=dict)  # file name -> CRC-32, hex

    @classmethod
    def of(
        cls,
        model: str,
        vectors: np.ndarray,
        passages: int,
        articles: int,
        dense_index: str,
        checksums: dict[str, str] | None = None,
    ) -> Manifest:
        """The manifest of a version written now."""
        return cls(
            model=model,
            dimension=int(vectors.shape[1]),
            passages=passages,
            articles=articles,
            created_at=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            dense_index=dense_index,
            checksums=checksums or {},
        )

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Manifest:
        """A saved manifest (keys it does not know are left out)."""
        return cls(**{key: data[key] for key in cls.__dataclass_fields__ if key in data})


def check_model(where: object, manifest: Manifest, model: Model | None) -> None:
    """Refuse an index whose vectors another model (or a newer quotebot) made."""
    if manifest.format_version > FORMAT_VERSION:
        raise StoreError(
            f"the index in {where} was written by a newer quotebot (format "
            f"{manifest.format_version}); upgrade quotebot or rebuild it with "
            "`quotebot index build`"
        )
    if model is not None and (manifest.model, manifest.dimension) != model:
        raise StoreError(
            f"the index in {where} was built with the model {manifest.model} "
            f"({manifest.dimension} dimensions), but quotebot embeds with "
            f"{model[0]} ({model[1]}); rebuild it with `quotebot index build`"
        )


class Version(Protocol):
    """One opened, read-only version of an index: what retrieval, indexing and the front
    ends read. It keeps answering from its own rows while newer versions go live."""

    manifest: Manifest

    @property
    def where(self) -> str:
        """The version, as messages name it (a folder, or a database)."""

    @property
    def version(self) -> str:
        """Which version this is (what the store's :meth:`Store.live_version` says when it
        is live)."""

    @property
    def broken(self) -> bool:
        """Whether it can no longer be read (a connection lost for good): open it again."""

    def __len__(self) -> int:
        """How many passages it holds (row numbers run from 0 to this)."""

    def nearest(self, vector: np.ndarray, k: int) -> list[tuple[int, float]]:
        """The k passages nearest to one unit vector, as (row, cosine), best first."""

    def vectors_of(self, rows: Sequence[int] | np.ndarray) -> np.ndarray:
        """The passages' vectors, row for row."""

    def keyword_scores(self, tokens: list[str]) -> np.ndarray:
        """The BM25 score of every passage for the question's stemmed tokens."""

    def document_frequency(self, term: str) -> int:
        """How many passages hold the (stemmed) term."""

    def passages(self, rows: Sequence[int]) -> list[Passage]:
        """The passages at these rows, in the order asked."""

    def all_passages(self) -> list[Passage]:
        """Every passage, in row order."""

    def articles(self) -> list[ArticleInfo]:
        """Every indexed article, in the order they were added."""

    def read_articles(self) -> list[Article]:
        """Every indexed article in full, as it was added (a long paragraph's pieces joined)."""

    def rows_by_hash(self) -> dict[str, int]:
        """The row of each passage's content hash, to reuse vectors already computed."""

    def close(self) -> None:
        """Let the version go now rather than when garbage-collected."""


class Change(Protocol):
    """One change of an index, made under its writers' lock (:meth:`Store.changing`)."""

    notes: list[str]
    """What the user should know about it (an unreadable live version recovered)."""

    def live(self, model: Model, *, strict: bool) -> Version | None:
        """The live version as this change found it, or None when there is none yet.

        With ``strict`` a version that cannot be used (damaged, another model) is an error,
        so that adding to it never silently drops what it holds; without, it counts as none
        (a build from scratch replaces it).
        """

    def write(
        self,
        articles: Sequence[Article],
        passages: Sequence[Passage],
        vectors: np.ndarray,
        model: str,
    ) -> str:
        """Write a complete new version (passage i has vector row i) and make it live when
        the change ends; its name."""


class Store(Protocol):
    """Where an index lives, and what it does: open the live version, change it (one
    writer at a time, a new whole version each time), say how big it is.

    ``str(store)`` names it in messages ("/srv/news/index", "the database news on db1").
    """

    def open(self, model: Model | None = None, *, writing: bool = False) -> Version:
        """The live version; with ``model``, only if that model made it. A damaged live
        version is an error for a writer; a reader may get the newest good one before it,
        with a warning.

        Raises:
            StoreError: there is no index, or it cannot be read.
        """

    def live_version(self) -> str | None:
        """Which version is live (None: no index yet); cheap enough to ask before each
        question."""

    def has_index(self) -> bool:
        """Whether anything was ever indexed there (a damaged index counts)."""

    def changing(self, dimension: int) -> AbstractContextManager[Change]:
        """Hold the writers' lock for one change (another writer waits or is refused); what
        the change writes goes live when the block ends, or not at all."""

    def written_at(self) -> float | None:
        """When the live version was written (seconds since the epoch), None without one."""

    def size_on_disk(self) -> int:
        """Bytes the live index takes."""

    def subscriptions(self) -> Subscriptions:
        """The feeds this index follows, kept with it."""


def live_or_none(store: Store, model: Model | None, *, strict: bool) -> Version | None:
    """The live version for a writer, or None when there is none yet (what
    :meth:`Change.live` does, for any store)."""
    if not store.has_index():
        return None
    try:
        return store.open(model, writing=True)
    except StoreError:
        if strict:
            raise
        return None
