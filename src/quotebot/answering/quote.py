"""The quote: the sentence(s) of a passage that hold the answer, word for word."""

from __future__ import annotations

import re

from quotebot.text import split_sentences, stems

_REFERS_BACK = re.compile(
    r"(It|Its|This|These|Those|They|Their|He|His|She|Her|Such|There|That|The latter)\b"
)


def quote_around(
    text: str, start: int, end: int, terms: dict[str, float] | None = None
) -> tuple[int, int]:
    """The sentence(s) of a passage that hold the span [start, end).

    With the sentence before when the first begins by referring back to it ("It ...",
    "They ..."); else with the neighbour that holds most of the question's ``terms`` (by
    weight) that the span's sentence lacks, so that the quote shows what the question asks about.
    """
    sentences = split_sentences(text)
    first = next((i for i, (_, e) in enumerate(sentences) if start < e), len(sentences) - 1)
    last = max(first, next((i for i, (_, e) in enumerate(sentences) if end <= e), first))
    if first > 0 and _REFERS_BACK.match(text, sentences[first][0]):
        first -= 1
    elif terms:
        quoted = set(stems(text[sentences[first][0] : sentences[last][1]]))

        def adds(i: int) -> float:
            s, e = sentences[i]
            return sum(terms.get(t, 0.0) for t in set(stems(text[s:e])) - quoted)

        near = [i for i in (first - 1, last + 1) if 0 <= i < len(sentences)]
        best = max(near, key=adds, default=None)
        if best is not None and adds(best) > 0:
            first, last = min(first, best), max(last, best)
    return sentences[first][0], sentences[last][1]
