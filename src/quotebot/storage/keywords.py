"""The keyword (BM25) index over the same passages as FAISS, with bm25s."""

from __future__ import annotations

import re
from functools import cache, lru_cache
from pathlib import Path
from tokenize import TokenError
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
