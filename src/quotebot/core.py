"""The one core every front end answers through: open the live index, follow it as it
changes, and answer a question (retrieval, then the reader, the quote and the decision)."""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from quotebot import botstate, embedding, storage
from quotebot.answering import READ_PASSAGES, Reading, read, reader, speech
from quotebot.answering.decision import decide
from quotebot.botstate import BotMemory
from quotebot.durations import parse_duration, say_duration
from quotebot.embedding import EmbeddingOptions
from quotebot.feeds import (
    Checked,
    Feed,
    FeedOptions,
    FeedReport,
    PollOptions,
    check_due,
    describe,
    follow,
    follow_in_background,
    index_checked,
    poll,
    unfollow,
)
from quotebot.indexing import (
    IndexOptions,
    Progress,
    Report,
    add,
    build,
    follow_folder,
    remove,
)
from quotebot.records import Answer, Conversation, Hit, Turn
from quotebot.retrieval import (
    RERANKED,
    FittedModelMismatch,
    Ranking,
    evidence,
    first_stage,
    followup,
    rank,
)
from quotebot.settings import Settings
from quotebot.sources import SUPPORTED_SUFFIXES, SourceOptions
from quotebot.storage import (
    DenseOptions,
    IndexLocked,
    Location,
    Store,
    StoreError,
    Subscriptions,
    Version,
    open_store,
)
from quotebot.text import counted, stems

__all__ = [
    "DEFAULT_K",
    "counted",
    "Answer",
    "BotMemory",
    "Checked",
    "Conversation",
    "EmbeddingOptions",
    "Engine",
    "Feed",
    "FeedOptions",
    "FeedReport",
    "FittedModelMismatch",
    "IndexLocked",
    "IndexOptions",
    "Location",
    "Options",
    "PollOptions",
    "Progress",
    "Report",
    "Store",
    "SUPPORTED_SUFFIXES",
    "StoreError",
    "Subscriptions",
    "Turn",
    "Version",
    "add",
    "answer",
    "answer_with",
    "bearing",
    "bot_memory",
    "build",
    "check_due",
    "configure",
    "describe",
    "follow",
    "follow_folder",
    "follow_in_background",
    "index_checked",
    "location",
    "needs_indexing",
    "open_store",
    "parse_duration",
    "plain_question",
    "poll",
    "remove",
    "say_duration",
    "unfollow",
]

log = logging.getLogger(__name__)

DEFAULT_K = 5
MAX_QUESTION_CHARS = 1000  # a question is a sentence or two; more is a pasted article
TOO_LONG = (
    f"the question is too long (more than {MAX_QUESTION_CHARS:,} characters): "
    "ask it in a sentence or two"
)
# What people say before the question itself: a greeting, a mention, "can you tell me".
_CHATTER = re.compile(
    r"(?:@\w+|hey|hi|hello|hiya|yo|(?:quote)?bot|ok(?:ay)?|so|um+|uh+|please|pls"
    r"|quick question|question"
    r"|excuse me|sorry|(?:can|could|would|will) you (?:please )?(?:tell|show) me|tell me"
    r"|do you know|does anyone know|i (?:wonder|want to know|would like to know))"
    r"(?=\W|$)[\s,:;!.\-]*",
    re.IGNORECASE,
)


def plain_question(question: str) -> str:
    """The question without what is said before it ("hey, who ...", "@bot who ...", "can
    you tell me who ..."), on one line; the whole question if nothing else is left."""
    question = " ".join(question.split())
    rest = question
    while (said := _CHATTER.match(rest)) and said.end() > 0:
        rest = rest[said.end() :]
    return rest if any(c.isalnum() for c in rest) else question


def answer_with(
    index: Version,
    question: str,
    k: int = DEFAULT_K,
    *,
    vector: np.ndarray | None = None,
    show_threshold: float | None = None,
    explain: bool = False,
    last: Turn | None = None,
) -> Answer:
    """Answer a question from an opened index.

    Args:
        index: An opened index.
        question: The question as the user wrote it.
        k: How many passages to list.
        vector: The question's vector, when already encoded.
        show_threshold: The answer confidence at which the short answer is shown; defaults
            to the fitted one (``models/reader.json``).
        explain: Also say why (``Answer.explanation``): each retrieval stage's best
            passages, the question's words no passage holds, the reader's best spans and
            the decisions with their thresholds.
        last: The conversation's last turn: a question that leans on it ("when did he
            ...?") is searched made whole from it; for every question its paragraph is a
            prior of the ranking (of two articles that answer, the one talked about wins).

    Raises:
        ValueError: the question is empty, or longer than ``MAX_QUESTION_CHARS``.
    """
    question = " ".join(question.split())
    if not question:
        raise ValueError("the question is empty")
    if len(question) > MAX_QUESTION_CHARS:
        raise ValueError(TOO_LONG)
    asked = plain = plain_question(question)
    leans = (
        last is not None
        and followup.leans_on_context(asked)
        and not followup.new_topic(index, asked, last)
    )
    if leans and last is not None:
        asked = followup.made_whole(asked, last)
    if asked != question:
        vector = None
    wanted = max(k, READ_PASSAGES, RERANKED if last is not None else 0)
    ranking = rank(index, asked, wanted, vector=vector)
    if last is not None:
        ranking = followup.with_prior(ranking, last)
    hits = ranking.hits
    why = Why(asked, show_threshold, explain, index, ranking)
    if not hits:
        return _finished(Answer(question, found=False, passages=hits), why)
    reading = why.reading = read(ranking)
    best = reading.best
    if best is None:  # the reader saw no span at all: nothing to quote
        return _declined(question, k, plain, why, "reader")
    decision = decide(ranking, reading, show_threshold)
    why.found, why.confidence = decision.found, decision.confidence
    why.show_threshold = decision.show_threshold
    if not decision.answers:
        return _declined(question, k, plain, why, "found decision")
    source = hits[best.passage]
    passages = _source_first(hits, source, k)
    start, end = reading.quote
    answer = Answer(
        question,
        True,
        best.text,
        source.passage.text[start:end],
        best.start - start,
        passages,
        decision.confidence,
        decision.shown,
    )
    return _finished(answer, why)


def _declined(question: str, k: int, plain: str, why: Why, declined_by: str) -> Answer:
    """The reader declined: the answer is what the best passages report, when the question
    (``plain``: without its chatty opening) asks what someone said
    (:mod:`quotebot.answering.speech`); otherwise declined."""
    hits = why.ranking.hits
    said = speech.reported(plain, why.ranking)
    if said is None:
        answer = Answer(question, found=False, passages=hits[:k])
        return _finished(answer, why, declined_by=declined_by)
    number, start, end = said
    source = hits[number]
    quote = source.passage.text[start:end]
    answer = Answer(question, True, quote, quote, 0, _source_first(hits, source, k))
    return _finished(answer, why, answered_by="reported speech")


def _source_first(hits: list[Hit], source: Hit, k: int) -> list[Hit]:
    """The k passages an answer lists: the one quoted first, then the rest as ranked."""
    return [source, *(h for h in hits if h is not source)][:k]


@dataclass
class Why:
    """What :func:`answer_with` learns along the way that ``--explain`` shows."""

    searched_as: str
    show_threshold: float | None
    asked: bool  # whether to explain
    index: Version
    ranking: Ranking
    reading: Reading | None = None
    found: float | None = None
    confidence: float | None = None


EXPLAINED = 5  # candidates shown for each stage


def _finished(
    answer: Answer, why: Why, declined_by: str | None = None, answered_by: str | None = None
) -> Answer:
    """The answer with the question as searched, and its explanation when one was asked for."""
    answer = replace(answer, searched_as=why.searched_as)
    if not why.asked:
        return answer
    index, ranking, reading = why.index, why.ranking, why.reading
    if not ranking.hits:
        declined_by = "search"
    stages = {
        mode: [
            _where(h)
            for h in first_stage(index, why.searched_as, mode, ranking.vector, EXPLAINED)
            if h.score > 0 or mode != "keyword"  # no keyword in common: no keyword match
        ]
        for mode in ("keyword", "dense", "hybrid")
    }
    stages["fused"] = stages.pop("hybrid")
    stages["reranked"] = [_where(h) for h in ranking.hits[:EXPLAINED]]
    held = set().union(*(stems(h.passage.text) for h in ranking.hits))
    words = dict.fromkeys(evidence.content_words(why.searched_as))
    model = reader.model()
    decision = {
        "result": "answered" if answer.found else "declined",
        "declined_by": declined_by,
        "answered_by": answered_by,
        "found": _rounded(why.found),
        "found_threshold": model["found"]["threshold"],
        "confidence": _rounded(why.confidence),
        "shown_threshold": why.show_threshold,
        "shown": answer.answer_shown,
    }
    spans = [
        {"text": c.text, "passage": c.passage + 1, "score": round(c.score, 3),
         "no_answer": round(c.no_answer, 3)}
        for c in (reading.candidates[:EXPLAINED] if reading else [])
    ]  # fmt: skip
    explanation = {
        "searched_as": why.searched_as,
        "stages": stages,
        "missing_words": [w for w in words if not set(stems(w)) & held],
        "reader": {"spans": spans, "no_answer": round(reading.no_answer, 3) if reading else None},
        "decision": decision,
    }
    return replace(answer, explanation=explanation)


def _where(hit: Hit) -> dict[str, Any]:
    p = hit.passage
    return {"title": p.title, "paragraph": p.paragraph + 1, "article_id": p.article_id,
            "score": round(hit.score, 4)}  # fmt: skip


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


class Engine:
    """Answers questions from the live index at one location (a folder or a database),
    following it as it changes.

    Before each question it checks (one small file read, or one small query) whether a new
    version went live, and opens it; questions already running finish on the version they
    began with.
    """

    def __init__(self, location: Location, show_threshold: float | None = None) -> None:
        """Args:
        location: The index's store (``core.location``), or an index folder's path.
        show_threshold: The answer confidence at which short answers are shown; defaults to
            the fitted threshold (``models/reader.json``).
        """
        self.show_threshold = show_threshold
        self.store = open_store(location)
        self._lock = threading.Lock()
        self._index: Version | None = None
        self._refused: str | None = None  # a version that would not open; tried once

    @property
    def index(self) -> Version:
        """The live index, reopened when a new version has gone live (or the connection to
        the database was lost). Should the new version fail to open, the one already open
        keeps answering.
        """
        live = self.store.live_version()
        with self._lock:
            current = self._index
            if current is None or current.broken:
                current = self._index = self.store.open(embedding.MODEL)
            elif live is not None and live not in (current.version, self._refused):
                try:
                    current = self._index = self.store.open(embedding.MODEL)
                except StoreError as error:
                    self._refused = live
                    log.warning("still answering from %s: %s", current.where, error)
            if live is not None and current.version != live:
                self._refused = live  # damaged: an older version answers, said once
            return current

    def answer(
        self,
        question: str,
        k: int = DEFAULT_K,
        *,
        explain: bool = False,
        last: Turn | None = None,
    ) -> Answer:
        """Answer one question; see :func:`answer_with`."""
        return answer_with(
            self.index, question, k, show_threshold=self.show_threshold, explain=explain, last=last
        )

    def warm(self) -> None:
        """Open the index and load the models (the embedder and the reader), so that the
        first question is answered as fast as the rest."""
        self.index  # noqa: B018
        embedding.encode(["warming up"])
        reader.load()

    def follow(self, conversation: Conversation, question: str, k: int = DEFAULT_K) -> Answer:
        """Answer a question of a conversation (a follow-up leans on its last turn while it
        is recent), and add it to the conversation, unless it was declined and asked nothing
        ("thank you": the topic goes on)."""
        result = self.answer(question, k, last=conversation.last())
        if result.found or followup.asks(plain_question(question)):
            conversation.add(result.turn)
        return result


_engines: dict[Store, Engine] = {}


def answer(question: str, k: int = DEFAULT_K, index_dir: Path = Path("index")) -> Answer:
    """Answer a question from the index folder ``index_dir``.

    ### Usage example
    ```python
    from pathlib import Path
    from quotebot import answer

    result = answer("How far is Agadez from Niamey?", index_dir=Path("index"))
    print(result.quote if result.found else "not in the articles")
    ```

    Args:
        question: The question as the user wrote it.
        k: How many passages to list. Defaults to 5.
        index_dir: The index folder. Defaults to ``./index``.

    Returns:
        The answer; ``found`` is False when no article answers the question.

    Raises:
        ValueError: the question is empty, or longer than ``MAX_QUESTION_CHARS``.
        storage.StoreError: there is no usable index.
    """
    store = open_store(index_dir.resolve())
    engine = _engines.setdefault(store, Engine(store))
    return engine.answer(question, k)


@dataclass(frozen=True)
class Options:
    """Everything the settings say below the front ends, as the option objects each stage
    takes; a front end reads the settings once and passes these down.

    ### Usage example (in a front end, ``settings`` read once)
    ```python
    options = Options.from_settings(settings)
    configure(options)
    store = location(Path("index"), None, options.dense)
    engine = Engine(store, options.show_threshold)
    ```
    """

    index: IndexOptions = IndexOptions()
    embedding: EmbeddingOptions = EmbeddingOptions()
    dense: DenseOptions = DenseOptions()
    show_threshold: float | None = None  # None: the fitted one
    feeds: FeedOptions = FeedOptions()

    @classmethod
    def from_settings(cls, settings: Settings) -> Options:
        """The options the settings (environment and .env) give."""
        return cls(
            IndexOptions(
                max_passages=settings.embedding.max_passages,
                sources=SourceOptions.from_settings(settings),
            ),
            EmbeddingOptions(settings.embedding.backend, settings.embedding.cache_dir),
            DenseOptions(settings.storage.dense_index, settings.storage.flat_limit),
            settings.answers.answer_threshold,
            FeedOptions(settings.feeds.every, settings.feeds.keep, settings.feeds.check_seconds),
        )

    @property
    def poll(self) -> PollOptions:
        """How a feed's poll reads and indexes."""
        return PollOptions(self.index)


def configure(options: Options) -> None:
    """Embed as the options say from now on, in this process (the model is loaded once)."""
    embedding.use(options.embedding)


def location(
    index_dir: Path, database_url: str | None = None, dense: DenseOptions | None = None
) -> Store:
    """Where the index is, as the front end's options say: the database when a URL is
    given, else the folder (made absolute, so that what is said about it is unambiguous:
    "no index in /srv/quotebot/index", not "no index in index"), writing the FAISS index
    ``dense`` says."""
    return storage.store_at(index_dir, database_url, dense or DenseOptions())


def needs_indexing(store: Store, articles_dir: Path) -> bool:
    """Whether there is no index yet, or a file under ``articles_dir`` changed (or one was
    added or deleted: its folder changed) since the live version was written (what
    ``quotebot run`` checks before it starts)."""
    written = store.written_at() if store.has_index() else None
    if written is None:
        return True
    found = [articles_dir, *articles_dir.rglob("*")] if articles_dir.is_dir() else []
    newest = max((p.stat().st_mtime for p in found), default=0)
    return newest > written


def bot_memory(database_url: str | None, per_minute: int) -> BotMemory:
    """What the bot keeps between updates (its question limit, the questions behind its
    answers, the conversations): in the database that holds the index when there is one,
    shared by every replica of the bot, else in this process."""
    return botstate.open_memory(database_url, per_minute)


def bearing(index: Version, question: str, hits: Sequence[Hit], share: float) -> list[Hit]:
    """The hits that bear on the question: their article's title and the passage hold at
    least ``share`` of the weight of the question's terms (the rarer a term in the index,
    the more it weighs; terms no passage holds left out), as the search's second stage
    weighs them. A passage near in meaning but about something else is left out."""
    query = evidence.analyse(question, index)
    known = 1.0 - query.unknown
    return [
        hit
        for hit in hits
        if known > 0
        and evidence.coverage(query, f"{hit.passage.title}\n{hit.passage.text}") >= share * known
    ]
