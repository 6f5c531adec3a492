"""The keyword (BM25) index over the same passages as FAISS, with bm25s."""

from __future__ import annotations

from pathlib import Path
from tokenize import TokenError

import bm25s
import numpy as np

from quotebot.text import tokenize


def build(texts: list[str], folder: Path) -> None:
    """Index texts (row i = passage i) and save the index in folder."""
    retriever = bm25s.BM25()
    retriever.index(tokenize(texts), show_progress=False)
    retriever.save(str(folder), show_progress=False)


def load(folder: Path) -> bm25s.BM25:
    """Load a saved keyword index, memory-mapped.

    Raises:
        ValueError: its files cannot be read (numpy's and bm25s's own reasons are not
            passed on: some advise loading the file "unsafely").
    """
    try:
        return bm25s.BM25.load(str(folder), mmap=True, show_progress=False)
    except (OSError, EOFError, ValueError, KeyError, IndexError, TypeError, SyntaxError,
            TokenError) as error:  # fmt: skip
        raise ValueError(f"its keyword index cannot be read: {type(error).__name__}") from None


def bm25_scores(retriever: bm25s.BM25, tokens: list[str]) -> np.ndarray:
    """The BM25 score of every passage for these query tokens (0 where none matches)."""
    known = [t for t in tokens if t in retriever.vocab_dict]
    if not known:
        return np.zeros(retriever.scores["num_docs"], dtype=np.float32)
    return np.asarray(retriever.get_scores(known), dtype=np.float32)


def document_frequencies(retriever: bm25s.BM25) -> tuple[dict[str, int], np.ndarray]:
    """The saved index's vocabulary and its column pointers: df of term t is
    ``indptr[vocab[t] + 1] - indptr[vocab[t]]``."""
    return retriever.vocab_dict, np.asarray(retriever.scores["indptr"])
