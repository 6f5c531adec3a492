"""What the bot keeps between updates, behind one small interface: the per-user question
limit, which question each answer message answers (for "More sources"), and the
conversations. In this process (:func:`in_process`), or in the PostgreSQL database that
holds the index (:func:`quotebot.botstate.postgres.in_database`), so that every replica of
the bot shares them.
"""

from __future__ import annotations

import time
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol, TypeVar

REMEMBERED = 2000
"""How many questions, conversations and answer links are kept (the newest)."""
WINDOW_SECONDS = 60.0
K = TypeVar("K")
V = TypeVar("V")


class Limiter(Protocol):
    """At most ``per_minute`` questions per user in any 60 seconds (0: no limit)."""

    per_minute: int

    def allow(self, user_id: int) -> tuple[bool, float, bool]:
        """Record a question; (allowed, seconds to wait, whether to tell the user: once per
        full window, further questions in it are dropped quietly).

        Raises:
            StoreError: where the limit is kept cannot be reached.
        """


class QuestionMemory(Protocol):
    """Which question each of the bot's answer messages answers; a failure to keep or find
    one is a warning, never an error."""

    def remember(self, chat_id: int, message_id: int, question: str) -> None: ...

    def get(self, key: tuple[int, int]) -> str | None:
        """The question answered by the message (chat id, message id), if kept."""


class Conversations(Protocol):
    """The conversations (their last turns, as JSON) and which conversation each answer
    message belongs to; a failure is a warning, never an error."""

    def turns(self, key: str) -> str | None:
        """The conversation's turns as JSON, or None for a new one."""

    def save(self, key: str, turns: str) -> None: ...

    def link(self, chat_id: int, message_id: int, key: str) -> None:
        """Remember that an answer message belongs to a conversation."""

    def thread(self, chat_id: int, message_id: int) -> str | None:
        """The conversation an answer message belongs to."""


@dataclass
class BotMemory:
    """The three, as the bot holds them."""

    limiter: Limiter
    questions: QuestionMemory
    conversations: Conversations


class LocalLimiter:
    """The question limit in this process."""

    def __init__(self, per_minute: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.per_minute = per_minute
        self._clock = clock
        self._asked: dict[int, deque[float]] = {}
        self._warned: dict[int, float] = {}

    def allow(self, user_id: int) -> tuple[bool, float, bool]:
        if self.per_minute <= 0:
            return True, 0.0, False
        now = self._clock()
        asked = self._asked.setdefault(user_id, deque())
        while asked and now - asked[0] >= WINDOW_SECONDS:
            asked.popleft()
        if len(asked) < self.per_minute:
            asked.append(now)
            self._warned.pop(user_id, None)
            return True, 0.0, False
        wait = WINDOW_SECONDS - (now - asked[0])
        tell = user_id not in self._warned
        self._warned[user_id] = now
        return False, wait, tell


class _Newest(OrderedDict[K, V]):
    """A mapping that keeps only its newest ``keep`` entries."""

    def __init__(self, keep: int) -> None:
        super().__init__()
        self.keep = keep

    def put(self, key: K, value: V) -> None:
        self[key] = value
        self.move_to_end(key)
        while len(self) > self.keep:
            self.popitem(last=False)


class LocalMemory:
    """The questions behind the answer messages, in this process (the newest ``keep``)."""

    def __init__(self, keep: int = REMEMBERED) -> None:
        self._questions: _Newest[tuple[int, int], str] = _Newest(keep)

    def remember(self, chat_id: int, message_id: int, question: str) -> None:
        self._questions.put((chat_id, message_id), question)

    def get(self, key: tuple[int, int]) -> str | None:
        return self._questions.get(key)


class LocalConversations:
    """The conversations and the answer messages' links to them, in this process (the newest
    ``keep`` of each)."""

    def __init__(self, keep: int = REMEMBERED) -> None:
        self._turns: _Newest[str, str] = _Newest(keep)
        self._threads: _Newest[tuple[int, int], str] = _Newest(keep)

    def turns(self, key: str) -> str | None:
        return self._turns.get(key)

    def save(self, key: str, turns: str) -> None:
        self._turns.put(key, turns)

    def link(self, chat_id: int, message_id: int, key: str) -> None:
        self._threads.put((chat_id, message_id), key)

    def thread(self, chat_id: int, message_id: int) -> str | None:
        return self._threads.get((chat_id, message_id))


def in_process(per_minute: int, keep: int = REMEMBERED) -> BotMemory:
    """The bot's memory in this process (one replica)."""
    return BotMemory(LocalLimiter(per_minute), LocalMemory(keep), LocalConversations(keep))


def open_memory(database_url: str | None, per_minute: int, keep: int = REMEMBERED) -> BotMemory:
    """The bot's memory: in the database when the index lives in one (``database_url``),
    shared by every replica; else in this process."""
    if not database_url:
        return in_process(per_minute, keep)
    from quotebot.botstate.postgres import in_database

    return in_database(database_url, per_minute, keep)
