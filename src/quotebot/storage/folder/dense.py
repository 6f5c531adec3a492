"""The FAISS index over passage vectors, whose type follows the size of the corpus.

- ``flat``: exact inner product; the default below ``QUOTEBOT_FLAT_LIMIT`` passages.
- ``hnsw``: a graph (HNSW, 32 links per node); the default above it. Fast, needs no training,
  holds the vectors in memory like flat does plus ~260 bytes per passage.
- ``ivfpq``: inverted lists with product quantization, trained on the corpus itself; 48 bytes
  per passage, for when memory matters (``QUOTEBOT_DENSE_INDEX=ivfpq``).

An approximate index only proposes candidates: :func:`search` re-scores them exactly
against the memory-mapped vectors (vectors.npy), reading only those rows.

"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import faiss
import numpy as np

Kind = Literal["auto", "flat", "hnsw", "ivfpq"]
FILE = "dense.faiss"
HNSW_LINKS = 16
HNSW_BUILD_DEPTH = 64  # efConstruction
HNSW_SEARCH_DEPTH = 256  # efSearch
IVF_PROBES = 64  # lists searched per question
PQ_BYTES = 48  # bytes per passage (384 dimensions / 48 = 8 per sub-quantizer)
IVF_MIN = 1_000  # fewer passages than this are searched exactly even when ivfpq is asked
_TRAIN_MAX = 50_000
CANDIDATES = 10  # an approximate index proposes this many times k (at least 100), re-scored exactly


def choose(size: int, kind: Kind, flat_limit: int) -> str:
    """The index type for a corpus of ``size`` passages: ``kind`` unless it is ``auto``, which
    means flat up to ``flat_limit`` passages (``QUOTEBOT_FLAT_LIMIT``), else HNSW."""
    if kind == "ivfpq" and size < IVF_MIN:
        return "flat"  # too few passages to train on; exact search costs nothing at this size
    if kind != "auto":
        return kind
    return "flat" if size <= flat_limit else "hnsw"


@dataclass(frozen=True)
class DenseOptions:
    """Which FAISS index a folder store writes (``QUOTEBOT_DENSE_INDEX``,
    ``QUOTEBOT_FLAT_LIMIT``): ``auto`` is flat up to ``flat_limit`` passages, else HNSW."""

    kind: Kind = "auto"
    flat_limit: int = 100_000


DEFAULT = DenseOptions()


def build(
    vectors: np.ndarray, kind: Kind | None = None, flat_limit: int | None = None
) -> faiss.Index:
    """A FAISS index holding ``vectors`` (unit rows; row i becomes id i).

    Args:
        vectors: float32 unit vectors, one row per passage.
        kind: ``flat``, ``hnsw``, ``ivfpq`` or ``auto``. Defaults to ``auto``.
        flat_limit: Up to this many passages ``auto`` means flat. Defaults to 100,000.
    """
    kind = kind or DenseOptions.kind
    flat_limit = DenseOptions.flat_limit if flat_limit is None else flat_limit
    size, dimension = vectors.shape
    chosen = choose(size, kind, flat_limit)
    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    if chosen == "flat":
        index: faiss.Index = faiss.IndexFlatIP(dimension)
    elif chosen == "hnsw":
        index = faiss.IndexHNSWFlat(dimension, HNSW_LINKS, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = HNSW_BUILD_DEPTH
    elif chosen == "ivfpq":
        index = _trained_ivfpq(vectors)
    else:
        raise ValueError(f"unknown dense index type {chosen}; choose flat, hnsw, ivfpq or auto")
    index.add(vectors)
    return index


def write(vectors: np.ndarray, folder: Path, options: DenseOptions = DEFAULT) -> str:
    """Save the dense index of the version being written in ``folder``; return its kind.

    The kind (``flat``, ``hnsw`` or ``ivfpq``) goes into the manifest.
    """
    index = build(vectors, options.kind, options.flat_limit)
    faiss.write_index(index, str(folder / FILE))
    return kind_of(index)


def open_index(folder: Path, kind: str) -> faiss.Index:
    """The dense index of the version in ``folder``, as :func:`write` saved it."""
    return load(str(folder / FILE))


def kind_of(index: faiss.Index) -> str:
    """``flat``, ``hnsw`` or ``ivfpq``: what :func:`build` made."""
    if isinstance(index, faiss.IndexHNSW):
        return "hnsw"
    if isinstance(index, faiss.IndexIVF):
        return "ivfpq"
    return "flat"


def load(path: str) -> faiss.Index:
    """Read an index written with ``faiss.write_index``, tuned for searching."""
    index = faiss.read_index(path)
    if isinstance(index, faiss.IndexHNSW):
        index.hnsw.efSearch = HNSW_SEARCH_DEPTH
    elif isinstance(index, faiss.IndexIVF):
        index.nprobe = IVF_PROBES
    return index


def search_vectors(
    index: faiss.Index, vectors: np.ndarray, query: np.ndarray, k: int
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
    query = np.ascontiguousarray(query, dtype=np.float32).reshape(1, -1)
    if kind_of(index) == "flat":
        scores, rows = index.search(query, k)
        return [(int(r), float(s)) for r, s in zip(rows[0], scores[0], strict=True) if r >= 0]
    _, proposed = index.search(query, min(index.ntotal, max(CANDIDATES * k, 100)))
    rows = np.unique(proposed[0][proposed[0] >= 0])
    exact = np.asarray(vectors[rows], dtype=np.float32) @ query[0]
    best = np.argsort(-exact)[:k]
    return [(int(rows[i]), float(exact[i])) for i in best]


def _trained_ivfpq(vectors: np.ndarray) -> faiss.Index:
    """IVF-PQ with ~4·sqrt(n) lists, trained on (a sample of) the corpus itself."""
    size, dimension = vectors.shape
    lists = max(1, min(int(math.sqrt(size)), size // 39))
    quantizer = faiss.IndexFlatIP(dimension)
    bits = 8 if size >= 256 * 39 else 4  # k-means wants ~39 training points per centroid
    metric = faiss.METRIC_INNER_PRODUCT
    index = faiss.IndexIVFPQ(quantizer, dimension, lists, PQ_BYTES, bits, metric)
    sample = vectors
    if size > _TRAIN_MAX:
        pick = np.random.default_rng(0).choice(size, _TRAIN_MAX, replace=False)
        sample = vectors[np.sort(pick)]
    threads = faiss.omp_get_max_threads()
    # Training runs thousands of tiny parallel steps; on a busy 2-core machine OpenMP's
    # waiting between them made it 5-25x slower than one thread (0.6 s against 16 s here).
    faiss.omp_set_num_threads(1)
    try:
        index.train(sample)
    finally:
        faiss.omp_set_num_threads(threads)
    index.nprobe = IVF_PROBES
    return index
