"""From the best passages to the answer: the reader (:mod:`.reader`) reads a window of the best
sentences of each of the best passages (after the article's title where the title holds words of
the question the window lacks), the quote holds its best span (:mod:`.quote`), the
decision says whether to answer and whether to show the short answer (:mod:`.decision`)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from quotebot.answering import reader
from quotebot.answering.quote import quote_around
from quotebot.records import Passage
from quotebot.retrieval import Ranking, evidence
from quotebot.text import split_sentences

READ_PASSAGES = 1  # the best passage after reranking: the reader reads a window of it
# Of it: its best sentence and the neighbours that fit (~165 tokens). Held out against 600
# (docs/measurements.md): answer-path EM 0.553 against 0.541 on squad_dev8, 0.634 against 0.612
# on squad_fit8; the whole of most news paragraphs.
WINDOW_CHARS = 750
# The next passage is read only when the search scored it within this much of the best one.
# Reranked scores; on squad_dev8 the gap between the first two is 5.7 at the median, every
# right answer the next passage gave was within 2.8, and further apart it mostly answered
# questions it does not hold: declined 0.474 of unanswerable questions, not 0.467, EM alike.
NEXT_PASSAGE_GAP = 5.0


@dataclass(frozen=True)
class Reading:
    """What the reader made of the best passages: its spans, best first, each one's share of
    the scores, and the (start, end) in its passage of the quote around the best one."""

    candidates: list[reader.Candidate]
    probabilities: np.ndarray
    quote: tuple[int, int] = (0, 0)

    @property
    def best(self) -> reader.Candidate | None:
        return self.candidates[0] if self.candidates else None

    @property
    def no_answer(self) -> float:
        """The lowest no-answer score of the windows read (the reader's "nothing here")."""
        return min((c.no_answer for c in self.candidates), default=0.0)


def read(ranking: Ranking, n: int = READ_PASSAGES, model: reader.Reader | None = None) -> Reading:
    """Run the reader over a window of each of the best n passages of a ranking; where its
    no-answer score beats every span of them and the search scored the next passage nearly as
    high (``NEXT_PASSAGE_GAP``), over the next passage's too, whose reading is taken when it
    finds a span there that beats its no-answer score (the search's second passage holds the
    answer when the first only repeats the question's words). ``model``: the reader (by
    default the shipped one)."""
    model = model or reader.load()
    reading = _read(ranking, range(n), model)
    best = reading.best
    hits = ranking.hits
    if (
        len(hits) > n
        and hits[n - 1].score - hits[n].score <= NEXT_PASSAGE_GAP
        and (best is None or best.no_answer > best.score)
    ):
        second = _read(ranking, [n], model)
        if second.best is not None and second.best.score > second.best.no_answer:
            return second
    return reading


def _read(ranking: Ranking, which: Iterable[int], model: reader.Reader) -> Reading:
    """The reader over a window of each of the passages ``which`` (numbers in the ranking)."""
    windows = []
    for i in which:
        passage = ranking.hits[i].passage
        start, end = window(ranking.query, passage.text)
        lead = headline(ranking.query, passage, passage.text[start:end])
        windows.append((i, lead + passage.text[start:end], start - len(lead)))
    found = [c for c in model.read(ranking.query.text, windows) if c.start >= 0]  # not the title
    quote = (0, 0)
    if found:
        best = found[0]
        text = ranking.hits[best.passage].passage.text
        quote = quote_around(text, best.start, best.end, ranking.query.terms)
    return Reading(found, reader.probabilities(found), quote)


def headline(query: evidence.Query, passage: Passage, text: str) -> str:
    """The article's title to read before a window of its passage where the title holds words
    of the question that the window lacks (news refers back to its headline: "The work cost 84
    million euros" under "Port reopens after six-month dredging project"); else nothing."""
    lead = f"{passage.title}. "
    return lead if evidence.coverage(query, lead + text) > evidence.coverage(query, text) else ""


def window(query: evidence.Query, text: str, size: int = WINDOW_CHARS) -> tuple[int, int]:
    """The (start, end) of the part of a passage the reader reads: the sentence that holds most
    of the question's term weight, with its neighbours after and before while they fit in
    ``size`` characters; of a sentence longer than that, its best ``size`` characters."""
    if len(text) <= size:
        return 0, len(text)
    sentences = split_sentences(text)
    covers = [evidence.coverage(query, text[s:e]) for s, e in sentences]
    best = max(range(len(sentences)), key=lambda i: (covers[i], -i))
    start, end = sentences[best]
    if end - start > size:
        return _best_part(query, text, start, end, size)
    first, last = best, best
    grew = True
    while grew:
        grew = False
        for i in (last + 1, first - 1):
            if (
                0 <= i < len(sentences)
                and max(end, sentences[i][1]) - min(start, sentences[i][0]) <= size
            ):
                first, last = min(first, i), max(last, i)
                start, end = sentences[first][0], sentences[last][1]
                grew = True
    return start, end


def _best_part(
    query: evidence.Query, text: str, start: int, end: int, size: int
) -> tuple[int, int]:
    """The ``size`` characters of text[start:end], cut at spaces with half overlapping, that
    hold most of the question's term weight."""
    parts = []
    at = start
    while at < end:
        stop = min(end, at + size)
        if stop < end and (space := text.rfind(" ", at + size // 2, stop)) > 0:
            stop = space
        parts.append((at, stop))
        if stop >= end:
            break
        step = text.find(" ", at + (stop - at) // 2, stop)
        at = step + 1 if step > 0 else stop
    return max(parts, key=lambda p: evidence.coverage(query, text[p[0] : p[1]]))
