"""Follow-up questions: whether a question leans on the conversation before it, and the
question made whole from the last turn when it does.

"When did he address the deployment?" after "Who is the Kremlin spokesperson?" (answered
"Dmitry Peskov") is searched as "When did he address the deployment? Dmitry Peskov Kremlin
spokesperson". A question that stands on its own ("Who founded the Wagner Group?") is searched
as it is. For both, the paragraph last quoted is a prior of the ranking, never a filter.
"""

from __future__ import annotations

import re
from dataclasses import replace
from typing import TYPE_CHECKING

import numpy as np

from quotebot.records import Turn
from quotebot.retrieval import Ranking, evidence
from quotebot.text import stems

if TYPE_CHECKING:
    from quotebot.storage import Version

# Words that point back: people and things named before, "there" and "then" at the end.
_POINTS_BACK = re.compile(
    r"\b(he|she|him|they|them|it|such|the same|the latter|the former)\b"
    r"|\b(?:this|these|those)\b(?! (?:year|week|month|morning|evening|season|time|weekend))"
    r"|\b(?:there|then)\s*[?.!]*\s*$"
    r"|\b(?:from|in|at|to|since|until|after|before) (?:there|then)\b",
    re.IGNORECASE,
)
_POSSESSIVE = re.compile(r"\b(his|her|its|their|hers|theirs)\b", re.IGNORECASE)
# Ellipsis: a question that goes on from the one before ("and the population?").
_GOES_ON = re.compile(
    r"^(?:and|but|also|or|so|then|what about|how about|and what|what else|anything else)\b",
    re.IGNORECASE,
)
_NAME = re.compile(r"(?<!^)(?<![.!?] )\b[A-Z][\w'’.-]*")
# Asked as a question: a question mark, or a question word first ("thank you" is not one).
_ASKS = re.compile(
    r"\?\s*$|^(?:who|whom|whose|what|which|when|where|why|how|is|are|was|were|do|does|did"
    r"|can|could|will|would|has|have|had)\b",
    re.IGNORECASE,
)
SHORT = 1  # words that say what a question is about, at most, in a question too short to stand
PARAGRAPH_PRIOR = 1.0  # added to the ranking score of the paragraph last quoted
ARTICLE_PRIOR = 0.5  # and of the other paragraphs of its article
MAX_ANSWER_WORDS = 6  # a longer last answer is no name to search by
MAX_LOOKED_AT = 500  # passages holding a short question's word, best first, to find its topic


def leans_on_context(question: str) -> bool:
    """Whether a question leans on what was said before: a word that points back with
    nothing in the question to point to, an ellipsis, or a question with too few words to
    stand alone ("Why?"; "thank you" asks nothing)."""
    return points_back(question) or (
        len(evidence.content_words(question)) <= SHORT
        and not _NAME.search(question)
        and asks(question)
    )


def asks(question: str) -> bool:
    """Whether a message is put as a question: a question mark, or a question word first."""
    return bool(_ASKS.search(question))


def points_back(question: str) -> bool:
    """Whether a question points back: "he", "there", "its" with no name, "and ...?"."""
    if _GOES_ON.match(question) or _POINTS_BACK.search(question):
        return True
    return bool(_POSSESSIVE.search(question)) and not _NAME.search(question)


def new_topic(index: Version, question: str, last: Turn) -> bool:
    """Whether a short question that does not point back ("Where is the library?") is about
    something the last turn's article never mentions and another article does: then it
    stands alone, though short."""
    if last.article_id is None or points_back(question):
        return False
    scores = index.keyword_scores(stems(" ".join(evidence.content_words(question))))
    rows = np.flatnonzero(scores > 0)
    if not len(rows):
        return False
    rows = rows[np.argsort(-scores[rows])][:MAX_LOOKED_AT]
    return all(p.article_id != last.article_id for p in index.passages(rows.tolist()))


def made_whole(question: str, last: Turn) -> str:
    """The question with the last turn's answer and key words that it lacks, to search by."""
    have = set(stems(question))
    added = []
    answer = last.answer if len(last.answer.split()) <= MAX_ANSWER_WORDS else ""
    for words in (answer, *evidence.content_words(last.searched_as)):
        if words and not set(stems(words)) <= have:
            added.append(words)
            have |= set(stems(words))
    return f"{question} {' '.join(added)}" if added else question


def with_prior(ranking: Ranking, last: Turn) -> Ranking:
    """The ranking with the paragraph last quoted (and its article) raised a little."""
    if last.article_id is None:
        return ranking

    def prior(score: float, article_id: str, paragraph: int) -> float:
        if article_id != last.article_id:
            return score
        return score + (PARAGRAPH_PRIOR if paragraph == last.paragraph else ARTICLE_PRIOR)

    hits = [
        replace(h, score=prior(h.score, h.passage.article_id, h.passage.paragraph))
        for h in ranking.hits
    ]
    return replace(ranking, hits=sorted(hits, key=lambda h: -h.score))
