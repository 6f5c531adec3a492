"""From the best passages to the answer: the reader proposes spans (:mod:`.reader`), the
embedder looks again at the best few (:mod:`.meaning`), the quote holds the best one
(:mod:`.quote`), the decision says whether to answer and whether to show the short answer
(:mod:`.decision`)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from quotebot.answering import meaning, reader
from quotebot.answering.quote import quote_around
from quotebot.retrieval import Ranking

READ_PASSAGES = 2  # the best passages after reranking that the reader reads


@dataclass(frozen=True)
class Reading:
    """What the reader made of the best passages: the candidate spans it checked by meaning,
    best first, and the (start, end) in its passage of the quote around the best one."""

    question: reader.Question
    candidates: list[reader.Candidate]
    probabilities: np.ndarray
    quote: tuple[int, int] = (0, 0)

    @property
    def best(self) -> reader.Candidate | None:
        return self.candidates[0] if self.candidates else None


def read(ranking: Ranking, n: int = READ_PASSAGES) -> Reading:
    """Run the reader over the best n passages of a ranking, and check its best by meaning."""
    question, found = propose(ranking, n)
    texts = [hit.passage.text for hit in ranking.hits[:n]]
    asked = ranking.query.text if ranking.vector is None else ranking.vector
    found = meaning.check(asked, question.kind, texts, found)
    return reading_of(ranking, question, found)


def propose(
    ranking: Ranking, n: int = READ_PASSAGES
) -> tuple[reader.Question, list[reader.Candidate]]:
    """The question as the reader analysed it, and its candidate spans in the best n passages,
    best first, before the check by meaning."""
    question = reader.analyse(ranking.query.text, ranking.query.terms)
    texts = [hit.passage.text for hit in ranking.hits[:n]]
    return question, reader.read(question, texts, reader_passage_features(ranking, n))


def reading_of(
    ranking: Ranking, question: reader.Question, found: list[reader.Candidate]
) -> Reading:
    """The reading of these candidates (best first): their probabilities and the quote."""
    quote = (0, 0)
    if found:
        best = found[0]
        text = ranking.hits[best.passage].passage.text
        quote = quote_around(text, best.start, best.end, ranking.query.terms)
    return Reading(question, found, reader.probabilities(found), quote)


def reader_passage_features(ranking: Ranking, n: int) -> list[dict[str, float]]:
    """What the reader weighs about each of the best n passages as a whole."""
    hits = ranking.hits[:n]
    top = hits[0].score if hits else 0.0
    return [
        {"passage_first": float(i == 0), "passage_gap": top - h.score, "passage_dense": h.dense}
        for i, h in enumerate(hits)
    ]
