"""The keyword (BM25) index over the same passages as FAISS, with bm25s."""

from __future__ import annotations

import re
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

import bm25s
import numpy as np


@cache
def _stemmer() -> Any:
    import Stemmer

    return Stemmer.Stemmer("english")


_TOKEN = re.compile(r"(?u)\b\w\w+\b")  # bm25s's (and scikit-learn's) word pattern


@cache
def _stopwords() -> frozenset[str]:
    from bm25s.stopwords import STOPWORDS_EN

    return frozenset(STOPWORDS_EN)


def tokenize(texts: list[str]) -> list[list[str]]:
    """Lower-cased, stemmed word tokens without English stopwords.

    The same tokens as ``bm25s.tokenize(texts, stopwords="en", stemmer=...)``, without its
    per-call overhead (progress bars, a stopword set per text): the second stage tokenizes
    dozens of sentences for every question.
    """
    stop, stem = _stopwords(), _stemmer().stemWords
    return [stem([w for w in _TOKEN.findall(text.lower()) if w not in stop]) for text in texts]


def terms(text: str) -> list[str]:
    """The tokens ``tokenize`` gives for one text, in order, without its per-call overhead.

    Remembered for recent texts: questions about the same news meet the same sentences.
    """
    return list(_terms(text))


def stemmed(word: str) -> str:
    """One word's stem, whether or not it is a stopword ("types" -> "type")."""
    return str(_stemmer().stemWord(word.lower()))


@lru_cache(maxsize=50_000)
def _terms(text: str) -> tuple[str, ...]:
    stop = _stopwords()
    words = [w for w in _TOKEN.findall(text.lower()) if w not in stop]
    return tuple(_stemmer().stemWords(words))


def build(texts: list[str], folder: Path) -> None:
    """Index texts (row i = passage i) and save the index in folder."""
    retriever = bm25s.BM25()
    retriever.index(tokenize(texts), show_progress=False)
    retriever.save(str(folder), show_progress=False)


def load(folder: Path) -> bm25s.BM25:
    """Load a saved keyword index, memory-mapped."""
    return bm25s.BM25.load(str(folder), mmap=True, show_progress=False)


def scores(retriever: bm25s.BM25, question: str) -> np.ndarray:
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
