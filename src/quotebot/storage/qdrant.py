"""Qdrant in place of FAISS for the passage vectors, when ``QUOTEBOT_QDRANT_URL`` is set.

Each index version gets its own collection, created before the version goes live and
dropped when the version is deleted, so versions still switch atomically. Its name is kept
in the version folder (``dense.qdrant``). The text, metadata and keyword index stay in the
version folder as with FAISS; only the nearest-neighbour search moves to Qdrant.

``QUOTEBOT_QDRANT_URL`` is a server or cluster (``http://host:6333``, with
``QUOTEBOT_QDRANT_API_KEY`` if it wants one), or a folder for qdrant-client's local
(embedded) mode, which one process at a time may open.
"""

from __future__ import annotations

import atexit
import secrets
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING
from uuid import UUID

import numpy as np

if TYPE_CHECKING:
    from qdrant_client import QdrantClient

MARKER = "dense.qdrant"
_UPLOAD_BATCH = 1024


class QdrantError(RuntimeError):
    """Qdrant is not configured, not reachable, or lacks a collection. The message says why."""


def url() -> str:
    """The configured ``QUOTEBOT_QDRANT_URL`` ('' when Qdrant is not used)."""
    from quotebot.settings import Settings

    return Settings().storage.qdrant_url


def client() -> QdrantClient:
    """The client for the configured server or local folder, one per process."""
    from quotebot.settings import Settings

    settings = Settings()
    if not settings.storage.qdrant_url:
        raise QdrantError(
            "this index keeps its vectors in Qdrant; set QUOTEBOT_QDRANT_URL to its server, "
            "or rebuild the index without it"
        )
    return _client(settings.storage.qdrant_url, settings.storage.qdrant_api_key or None)


@cache
def _client(location: str, api_key: str | None) -> QdrantClient:
    try:
        from qdrant_client import QdrantClient
    except ImportError as error:
        raise QdrantError(
            "QUOTEBOT_QDRANT_URL is set but qdrant-client is not installed; "
            "pip install 'quotebot[qdrant]'"
        ) from error
    if location.startswith(("http://", "https://")):
        db = QdrantClient(url=location, api_key=api_key)
    else:
        try:
            db = QdrantClient(path=str(Path(location).expanduser()))
        except RuntimeError as error:  # the folder is locked by another process
            raise QdrantError(f"QUOTEBOT_QDRANT_URL={location}: {error}") from error
    atexit.register(db.close)  # before interpreter shutdown, when closing still works
    return db


class Collection:
    """A version's Qdrant collection, searched where a FAISS index would be."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.client = client()
        try:
            self.ntotal = int(self.client.count(name, exact=True).count)
        except Exception as error:  # qdrant-client raises several kinds for a missing one
            raise QdrantError(f"Qdrant collection {name} cannot be read ({error})") from error

    def search(self, query: np.ndarray, k: int) -> list[tuple[int, float]]:
        """The k nearest rows to one unit vector, as (row, cosine), best first."""
        found = self.client.query_points(
            self.name, query=query.astype(np.float32).tolist(), limit=k, with_payload=False
        )
        return [(int(point.id), float(point.score)) for point in found.points]


def upload(folder: Path, vectors: np.ndarray) -> None:
    """Create a new collection for the version being written in ``folder`` and fill it."""
    from qdrant_client import models

    version = folder.name.rsplit("v-", 1)[-1]
    name = f"quotebot-v-{version}-{secrets.token_hex(4)}"
    db = client()
    (folder / MARKER).write_text(name + "\n")  # written first: a killed upload is cleaned up
    try:
        db.create_collection(
            name,
            vectors_config=models.VectorParams(
                size=int(vectors.shape[1]), distance=models.Distance.COSINE
            ),
        )
        for start in range(0, len(vectors), _UPLOAD_BATCH):
            chunk = np.asarray(vectors[start : start + _UPLOAD_BATCH], dtype=np.float32)
            rows: list[int | str | UUID] = list(range(start, start + len(chunk)))
            db.upsert(name, points=models.Batch(ids=rows, vectors=chunk.tolist()), wait=True)
    except Exception as error:  # connection refused, timeouts, server-side errors
        raise QdrantError(f"Qdrant at {url()} refused the vectors ({error})") from error


def open_collection(folder: Path) -> Collection:
    """The collection of the version in ``folder``."""
    return Collection((folder / MARKER).read_text().strip())


def discard(folder: Path) -> None:
    """Drop the collection of a version that is being deleted (if it has one)."""
    try:
        name = (folder / MARKER).read_text().strip()
    except OSError:
        return
    if name and url():
        try:
            client().delete_collection(name)
        except Exception:  # noqa: BLE001  (already gone, or the server is away: not fatal)
            return
