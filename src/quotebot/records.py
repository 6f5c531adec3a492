"""The records that flow down the road: an Article is read, split into Passages, found as
Hits and answered with an Answer. Plain data; every stage imports them from here."""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class Article:
    """One article: a title and its body paragraphs, with where it came from."""

    id: str
    title: str
    paragraphs: tuple[str, ...]
    url: str | None = None
    published: str | None = None
    source: str = ""

    @property
    def content_hash(self) -> str:
        """A hash of what the article says (title, paragraphs, url, date); where it was
        read from does not count. Equal hashes: nothing to update."""
        said = json.dumps([self.title, self.paragraphs, self.url, self.published])
        return hashlib.sha256(said.encode()).hexdigest()[:32]


@dataclass(frozen=True)
class Passage:
    """One paragraph of an article, with what is needed to cite it."""

    article_id: str
    paragraph: int  # 0-based index into the article's body paragraphs
    text: str
    title: str
    url: str | None = None
    published: str | None = None
    part: int = 0  # the piece of a long paragraph, from 0; the pieces join with one space

    @property
    def embedding_text(self) -> str:
        """What gets embedded: the paragraph with its article's title as context."""
        return f"{self.title}. {self.text}"

    @property
    def content_hash(self) -> str:
        """A hash of what is embedded; the same text never needs embedding twice."""
        return hashlib.sha256(self.embedding_text.encode()).hexdigest()[:32]


@dataclass(frozen=True)
class ArticleInfo:
    """An indexed article as listed by ``quotebot index list`` and ``/sources``."""

    id: str
    title: str
    url: str | None
    published: str | None
    source: str | None
    paragraphs: int
    content_hash: str = ""  # Article.content_hash when it was indexed


@dataclass(frozen=True)
class Hit:
    """A passage found for a question, with how well it matched (higher is better).

    ``score`` is the final ranking score; ``dense`` the cosine similarity; ``keyword`` the
    BM25 score divided by the best BM25 score among all passages for this question.
    """

    passage: Passage
    score: float
    row: int
    dense: float = 0.0
    keyword: float = 0.0


@dataclass(frozen=True)
class Turn:
    """One question of a conversation, as a follow-up needs it: how it was searched, the
    short answer, and the paragraph quoted (None when declined)."""

    question: str
    searched_as: str
    answer: str = ""
    article_id: str | None = None
    paragraph: int | None = None
    at: float = 0.0  # time.time() when it was answered


@dataclass
class Conversation:
    """The last turns of one conversation (a chat session, a private chat, a reply chain).

    A follow-up leans on the last turn while it is recent: asked within ``quiet`` seconds of
    it. Only the last ``keep`` turns are kept.
    """

    turns: list[Turn] = field(default_factory=list)
    keep: int = 3
    quiet: float = 600.0

    def last(self, now: float | None = None) -> Turn | None:
        """The last turn, unless the conversation has been quiet for too long."""
        if not self.turns:
            return None
        turn = self.turns[-1]
        return turn if (now or time.time()) - turn.at <= self.quiet else None

    def add(self, turn: Turn) -> None:
        self.turns = [*self.turns, turn][-self.keep :]

    def clear(self) -> None:
        self.turns = []

    def to_json(self) -> str:
        return json.dumps([asdict(t) for t in self.turns])

    @classmethod
    def from_json(cls, text: str, keep: int = 3, quiet: float = 600.0) -> Conversation:
        return cls([Turn(**t) for t in json.loads(text)], keep, quiet)


@dataclass(frozen=True)
class Answer:
    """The reply to one question: what to say, the words quoted, and where they come from.

    ``quote`` is an exact substring of the best passage; ``answer`` (the reader's span) an
    exact substring of ``quote``, starting at ``answer_start`` within it.
    ``answer_confidence`` is the calibrated probability that ``answer`` is exactly right;
    ``answer_shown`` says whether it is sure enough to be shown (in bold) above the quote.
    """

    question: str
    found: bool
    answer: str = ""
    quote: str = ""
    answer_start: int = 0
    passages: list[Hit] = field(default_factory=list)
    answer_confidence: float = 0.0
    answer_shown: bool = False
    # Why: each stage's best candidates, the reader's spans and the decision (``--explain``).
    explanation: dict[str, Any] | None = field(default=None, compare=False)
    searched_as: str = ""  # the question as searched: without "hey, ...", made whole

    @property
    def turn(self) -> Turn:
        """This question and answer as one turn of a conversation."""
        source = self.source
        return Turn(
            self.question,
            self.searched_as or self.question,
            self.answer if self.found else "",
            source.passage.article_id if source else None,
            source.passage.paragraph if source else None,
            time.time(),
        )

    @property
    def source(self) -> Hit | None:
        """The passage the quote is taken from."""
        return self.passages[0] if self.found and self.passages else None
