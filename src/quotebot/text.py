"""The text tools every stage uses: words and their stems (as the keyword index counts them),
and the one sentence splitter (for quotes, the reader's windows, the evidence of a sentence,
and where a long paragraph is cut into passages).

They sit below sources, storage, retrieval and answering, and import none of them.
"""

from __future__ import annotations

import re
from functools import cache, lru_cache
from typing import Any

_TOKEN = re.compile(r"(?u)\b\w\w+\b")  # bm25s's (and scikit-learn's) word pattern
_ABBREVIATIONS = frozenset(
    """
    mr mrs ms dr st jr sr prof gen col lt sgt capt gov sen rep rev fr vs etc inc ltd co corp
    no vol fig est approx dept univ ave mt ft jan feb mar apr jun jul aug sep sept oct nov dec
    """.split()
)
_SENTENCE_END = re.compile(r"[.!?][\"'”’)\]]*\s+(?=[\"'“‘(\[]?[A-Z0-9])")
_WORD_BEFORE = re.compile(r"([A-Za-z]+)\.?[\"'”’)\]]*$")


@cache
def _stemmer() -> Any:
    import Stemmer

    return Stemmer.Stemmer("english")


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


def stems(text: str) -> list[str]:
    """The tokens ``tokenize`` gives for one text, in order, without its per-call overhead.

    Remembered for recent texts: questions about the same news meet the same sentences.
    """
    return list(_stems(text))


def stemmed(word: str) -> str:
    """One word's stem, whether or not it is a stopword ("types" -> "type")."""
    return str(_stemmer().stemWord(word.lower()))


@lru_cache(maxsize=50_000)
def _stems(text: str) -> tuple[str, ...]:
    stop = _stopwords()
    words = [w for w in _TOKEN.findall(text.lower()) if w not in stop]
    return tuple(_stemmer().stemWords(words))


def split_sentences(text: str) -> list[tuple[int, int]]:
    """Sentences as (start, end) offsets: a fast split at ., ! or ? before a capital or digit.

    Common abbreviations ("Mr.", "U.S.", initials) do not end a sentence.
    """
    spans: list[tuple[int, int]] = []
    start = 0
    for match in _SENTENCE_END.finditer(text):
        before = _WORD_BEFORE.search(text, max(start, match.start() - 20), match.start() + 1)
        word = before.group(1) if before else ""
        if word.lower() in _ABBREVIATIONS or (len(word) == 1 and word.isupper()):
            continue
        end = match.end()
        spans.append((start, len(text[:end].rstrip())))
        start = end
    if start < len(text.rstrip()):
        spans.append((start, len(text.rstrip())))
    return [(s, e) for s, e in spans if e > s] or [(0, len(text))]


def counted(count: int, noun: str) -> str:
    """A count with its noun in the right number: "1 article", "3 articles"."""
    return f"{count} {noun if count == 1 else noun + 's'}"
