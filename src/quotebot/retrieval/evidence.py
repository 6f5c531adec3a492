"""How well a passage's sentences match a question: weighted term coverage, proximity, title,
and whether a sentence holds the kind of thing the question asks for (a date, a number, a name).

Everything here is lexical and cheap (regular expressions, the keyword index's stemmer and
document frequencies), so that the second stage over ~20 passages costs little next to
encoding the question.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Protocol

from quotebot.text import split_sentences, stems

# Words that say how a question is asked, not what it is about.
QUESTION_WORDS = frozenset(
    """
    a about above after again against all am an and any are as at be because been before being
    below between both but by can could did do does doing down during each few for from further
    had has have having he her here hers herself him himself his how i if in into is it its
    itself just me more most my myself no nor not now of off on once only or other our ours out
    over own same she should so some such than that the their theirs them themselves then there
    these they this those through to too under until up very was we were what when where which
    while who whom whose why will with would you your yours yourself
    many much far long often called name named known kind type
    """.split()
)
_QUESTION_WORD = re.compile(r"[\w'’-]+")

# The kinds of answer a question can ask for, from its wording.
DATE, NUMBER, QUANTITY, PERSON, PLACE, OTHER = (
    "date",
    "number",
    "quantity",
    "person",
    "place",
    "other",
)
_QUESTION_TYPES = [
    (
        DATE,
        re.compile(
            r"^(when\b|(in |by |since |until )?(what|which) (year|years|date|day|month|"
            r"century|decade|time period|era|period)\b)|\b(what|which) (year|date|century)\b"
        ),
    ),
    (NUMBER, re.compile(r"\bhow (many|much)\b|\b(what|which) (number|percentage|amount)\b")),
    (
        QUANTITY,
        re.compile(
            r"\bhow (long|far|tall|big|old|large|high|fast|heavy|deep|wide|often|"
            r"frequently|early|late|hot|cold)\b|\b(what|which) (size|length|distance|speed|"
            r"age|temperature|height|cost|price|population)\b"
        ),
    ),
    (PERSON, re.compile(r"^(who|whom|whose)\b|\b(who|whom|whose)\b")),
    (PLACE, re.compile(r"^where\b|\bwhere\b|\b(what|which) (country|city|state|place|region)\b")),
]

_MONTH = (
    r"(?:January|February|March|April|May|June|July|August|September|October|November|"
    r"December|Jan\.|Feb\.|Mar\.|Apr\.|Jun\.|Jul\.|Aug\.|Sept?\.|Oct\.|Nov\.|Dec\.)"
)
_NUMBER_WORDS = (
    r"(?:one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|fourteen|"
    r"fifteen|sixteen|seventeen|eighteen|nineteen|twenty|thirty|forty|fifty|sixty|seventy|"
    r"eighty|ninety|hundred|thousand|million|billion|trillion|dozen|several|half)"
)
_NUMBER = rf"(?:[$£€]\s?)?(?:\d[\d,]*(?:\.\d+)?|{_NUMBER_WORDS}(?:[- ]{_NUMBER_WORDS})*)"
_FUNCTION_WORDS = (
    r"(?:in|of|and|the|from|to|at|on|for|by|with|a|an|or|was|were|is|are|as|than|that|which)"
)
_SCALE = r"(?:\s(?:hundred|thousand|million|billion|trillion))?"
# Spans of each kind in a sentence, most specific first.
SPAN_PATTERNS: dict[str, re.Pattern[str]] = {
    DATE: re.compile(
        rf"\b(?:{_MONTH}\s\d{{1,2}}(?:st|nd|rd|th)?,?\s\d{{4}}|\d{{1,2}}\s{_MONTH}\s\d{{4}}|"
        rf"{_MONTH}\s\d{{4}}|{_MONTH}\s\d{{1,2}}(?:st|nd|rd|th)?|{_MONTH}|"
        r"(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday)|"
        r"(?:early\s|late\s|mid-?)?\d{1,2}(?:st|nd|rd|th)\s(?:and\s\d{1,2}(?:st|nd|rd|th)\s)?"
        r"centur(?:y|ies)(?:\s(?:BC|AD|BCE|CE))?|"
        r"(?:early\s|late\s|mid-?)?\d{3,4}s|\d{3,4}(?:\s?(?:BC|AD|BCE|CE))?"
        r"(?:\s?(?:-|–|to|and)\s?\d{2,4})?)\b"
    ),
    QUANTITY: re.compile(
        rf"[$£€]\s?\d[\d,]*(?:\.\d+)?{_SCALE}|(?:\b){_NUMBER}{_SCALE}(?:\s?%|\s(?:per\s?cent|"
        rf"percent)|[- ](?!{_FUNCTION_WORDS}\b)[a-z]+(?:\s(?:per|an?|of)\s[a-z]+)?)"
    ),
    NUMBER: re.compile(rf"(?:\b|(?=[$£€])){_NUMBER}{_SCALE}(?:\s?%|\s(?:per\s?cent|percent))?\b"),
}
_NAME = re.compile(
    r"\b[A-Z][\w'’.-]*(?:\s(?:(?:of|de|la|von|van|the|and|for|du|del|al|bin|le)\s)?"
    r"(?:[A-Z][\w'’.-]*|\d+))*"
)
SPAN_PATTERNS[PERSON] = SPAN_PATTERNS[PLACE] = _NAME
# Capitalized only because they begin a sentence: never a name on their own.
_NOT_NAMES = QUESTION_WORDS | frozenset(
    """
    according additionally also although among meanwhile despite following however instead
    later moreover nevertheless prior since still though thus unlike upon whereas while within
    without yet earlier first last next today yesterday tomorrow many several some one two
    january february march april may june july august september october november december
    monday tuesday wednesday thursday friday saturday sunday
    """.split()
)


def find_spans(kind: str, sentence: str) -> Iterator[tuple[str, int]]:
    """The spans of a kind (date, number, quantity, name) in a sentence, as (text, start).

    A name is cut to its run of name words: words capitalized only for starting a sentence
    ("Despite", "The"), months and weekdays are not part of it.
    """
    pattern = SPAN_PATTERNS.get(kind)
    if pattern is None:
        return
    for match in pattern.finditer(sentence):
        text, start = match.group(0), match.start()
        if pattern is _NAME:
            words = list(re.finditer(r"\S+", text))
            while words and _not_name(words[0].group(0)):
                words.pop(0)
            if not words:
                continue
            end = next((w for w in words if _not_name(w.group(0))), None)
            stop = end.start() if end else len(text)
            text, start = text[words[0].start() : stop].rstrip(), start + words[0].start()
        yield text, start


def _not_name(word: str) -> bool:
    """A capitalized word that is no part of a name (lower-case joiners like "of" are)."""
    return word[:1].isupper() and word.strip(".,;:'’\"").lower() in _NOT_NAMES


@dataclass(frozen=True)
class Query:
    """What the second stage knows about a question: its terms, their weights, its kind."""

    text: str
    terms: dict[str, float]  # stemmed term -> weight (inverse document frequency)
    pairs: frozenset[tuple[str, str]]  # neighbouring terms, to find phrases
    kind: str
    unknown: float  # the share of the terms' weight that no passage contains

    @property
    def weight(self) -> float:
        """The total weight of the question's terms."""
        return sum(self.terms.values()) or 1.0


@dataclass(frozen=True)
class SentenceMatch:
    """How one sentence of a passage matches the query."""

    start: int
    end: int
    matched: frozenset[str]  # the question's terms found in the sentence
    coverage: float  # the share of the question's term weight found in the sentence
    proximity: float  # matched terms per token of the shortest window holding them
    phrases: float  # the share of the question's neighbouring term pairs found side by side
    typed: bool  # holds a span of the kind the question asks for


def question_kind(question: str) -> str:
    """The kind of answer a question asks for: date, number, quantity, person, place or other."""
    lowered = question.lower()
    for kind, pattern in _QUESTION_TYPES:
        if pattern.search(lowered):
            return kind
    return OTHER


class Frequencies(Protocol):
    """What :func:`analyse` asks of an index: its size and how many passages hold a term."""

    def __len__(self) -> int: ...

    def document_frequency(self, term: str) -> int: ...


def content_words(question: str) -> list[str]:
    """The words of a question that say what it is about (how it is asked left out), in order."""
    return [w for w in _QUESTION_WORD.findall(question) if w.lower() not in QUESTION_WORDS]


def analyse(question: str, index: Frequencies) -> Query:
    """The question's stemmed terms weighted by rarity in the index, and what it asks for."""
    tokens = stems(" ".join(content_words(question)))
    n = len(index)
    weights: dict[str, float] = {}
    unknown = 0.0
    for token in dict.fromkeys(tokens):
        df = index.document_frequency(token)
        weights[token] = math.log(1 + (n - df + 0.5) / (df + 0.5))
        if df == 0:
            unknown += weights[token]
    total = sum(weights.values())
    return Query(
        question,
        weights,
        frozenset(zip(tokens, tokens[1:], strict=False)),
        question_kind(question),
        unknown / total if total else 0.0,
    )


def match_sentences(query: Query, text: str) -> list[SentenceMatch]:
    """How each sentence of a passage matches the query, in the passage's order."""
    spans = split_sentences(text)
    tokenized = [stems(text[s:e]) for s, e in spans]
    return [
        SentenceMatch(
            start,
            end,
            frozenset(tokens) & query.terms.keys(),
            _coverage(query, tokens),
            _proximity(query, tokens),
            _phrases(query, tokens),
            has_kind(query.kind, text[start:end], query.text),
        )
        for (start, end), tokens in zip(spans, tokenized, strict=True)
    ]


def coverage(query: Query, text: str) -> float:
    """The share of the question's term weight found in a text."""
    tokens = stems(text)
    return _coverage(query, tokens)


def weight_of(query: Query, terms: frozenset[str]) -> float:
    """The share of the question's term weight that these terms carry."""
    return sum(query.terms[t] for t in terms) / query.weight


def has_kind(kind: str, sentence: str, question: str) -> bool:
    """Whether the sentence holds a span of the kind asked for that the question lacks."""
    asked = question.lower()
    return any(text.lower() not in asked for text, _ in find_spans(kind, sentence))


def _coverage(query: Query, tokens: Sequence[str]) -> float:
    present = set(tokens)
    return sum(w for t, w in query.terms.items() if t in present) / query.weight


def _proximity(query: Query, tokens: Sequence[str]) -> float:
    positions = [i for i, t in enumerate(tokens) if t in query.terms]
    if len(positions) < 2:
        return float(len(positions))
    return len(positions) / (positions[-1] - positions[0] + 1)


def _phrases(query: Query, tokens: Sequence[str]) -> float:
    found = query.pairs & set(zip(tokens, tokens[1:], strict=False))
    return len(found) / max(len(query.pairs), 1)
