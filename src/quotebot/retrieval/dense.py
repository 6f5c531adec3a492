"""The dense half of retrieval: the passages nearest to the question's vector."""

from __future__ import annotations

import faiss
import numpy as np

from quotebot.storage import Index, dense, qdrant

CANDIDATES = 10  # an approximate index proposes this many times k (at least 100), re-scored exactly


def search(index: Index, query: np.ndarray, k: int) -> list[tuple[int, float]]:
    """The k passages of an opened index nearest to one unit vector, as (row, cosine)."""
    return search_vectors(index.dense, index.vectors, query, k)


def search_vectors(
    index: faiss.Index | qdrant.Collection, vectors: np.ndarray, query: np.ndarray, k: int
) -> list[tuple[int, float]]:
    """The k rows nearest to one unit vector, as (row, cosine), best first.

    Args:
        index: The FAISS index.
        vectors: The same vectors, row for row (memory-mapped is fine: only candidates are read).
        query: One unit vector.
        k: How many rows.
    """
    k = min(k, index.ntotal)
    if k <= 0:
        return []
    if isinstance(index, qdrant.Collection):
        return index.search(query, k)
    query = np.ascontiguousarray(query, dtype=np.float32).reshape(1, -1)
    if dense.kind_of(index) == "flat":
        scores, rows = index.search(query, k)
        return [(int(r), float(s)) for r, s in zip(rows[0], scores[0], strict=True) if r >= 0]
    _, proposed = index.search(query, min(index.ntotal, max(CANDIDATES * k, 100)))
    rows = np.unique(proposed[0][proposed[0] >= 0])
    exact = np.asarray(vectors[rows], dtype=np.float32) @ query[0]
    best = np.argsort(-exact)[:k]
    return [(int(rows[i]), float(exact[i])) for i in best]
