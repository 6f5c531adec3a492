"""The keyword half of retrieval: BM25 scores of the stored keyword index, and how many
passages hold each term."""

from __future__ import annotations

import bm25s
import numpy as np

from quotebot.storage import Index
from quotebot.storage.keywords import tokenize


def scores(index: Index, question: str) -> np.ndarray:
    """The BM25 score of every passage of an opened index for the question."""
    if index.keywords is None:  # an index whose last article was removed
        return np.zeros(0, dtype=np.float32)
    return bm25_scores(index.keywords, question)


def bm25_scores(retriever: bm25s.BM25, question: str) -> np.ndarray:
    """The BM25 score of every passage for the question (0 where no term matches)."""
    [tokens] = tokenize([question])
    known = [t for t in tokens if t in retriever.vocab_dict]
    if not known:
        return np.zeros(retriever.scores["num_docs"], dtype=np.float32)
    return np.asarray(retriever.get_scores(known), dtype=np.float32)


class Frequencies:
    """How many passages contain each stemmed term (from the saved index, nothing recomputed)."""

    def __init__(self, retriever: bm25s.BM25) -> None:
        self._vocab: dict[str, int] = retriever.vocab_dict
        self._indptr = np.asarray(retriever.scores["indptr"])
        self.documents = int(retriever.scores["num_docs"])

    def count(self, term: str) -> int:
        """The number of passages holding the term (0 when unknown)."""
        column = self._vocab.get(term)
        if column is None:
            return 0
        return int(self._indptr[column + 1] - self._indptr[column])
