"""What the bot keeps while it runs: the engine, the settings, per-user limits."""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass, field

from telegram.ext import ContextTypes

from quotebot import core
from quotebot.core import Conversation, Engine
from quotebot.settings import Settings

REMEMBERED_QUESTIONS = 2000
WINDOW_SECONDS = 60.0


class QuestionLimiter:
    """At most ``per_minute`` questions per user in any 60 seconds (0: no limit)."""

    def __init__(self, per_minute: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.per_minute = per_minute
        self._clock = clock
        self._asked: dict[int, deque[float]] = {}
        self._warned: dict[int, float] = {}

    def allow(self, user_id: int) -> tuple[bool, float, bool]:
        """Record a question; return (allowed, seconds to wait, whether to tell the user).

        The user is told once per full window; further questions in it are dropped quietly.
        """
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


class LocalConversations:
    """The conversations and the answer messages' links to them, in this process (the newest
    ``keep`` of each); the database keeps them when the index is there
    (``core.SharedConversations``, the same calls)."""

    def __init__(self, keep: int = REMEMBERED_QUESTIONS) -> None:
        self.keep = keep
        self._turns: OrderedDict[str, str] = OrderedDict()
        self._threads: OrderedDict[tuple[int, int], str] = OrderedDict()

    def turns(self, key: str) -> str | None:
        return self._turns.get(key)

    def save(self, key: str, turns: str) -> None:
        self._turns[key] = turns
        self._turns.move_to_end(key)
        while len(self._turns) > self.keep:
            self._turns.popitem(last=False)

    def link(self, chat_id: int, message_id: int, key: str) -> None:
        self._threads[(chat_id, message_id)] = key
        while len(self._threads) > self.keep:
            self._threads.popitem(last=False)

    def thread(self, chat_id: int, message_id: int) -> str | None:
        return self._threads.get((chat_id, message_id))


@dataclass
class BotState:
    """Everything the handlers share, kept in ``application.bot_data``."""

    settings: Settings
    index_dir: core.Location
    engine: Engine
    limiter: QuestionLimiter | core.SharedLimiter
    write_lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    # (chat id, answer message id) -> question, for "More sources" when the reply is not at hand
    questions: OrderedDict[tuple[int, int], str] | core.SharedMemory = field(
        default_factory=OrderedDict
    )
    # button presses already answered (a callback query is answered once); dropped when done
    answered_presses: set[str] = field(default_factory=set)
    # each private chat's and each group reply chain's last turns, for follow-up questions
    conversations: LocalConversations | core.SharedConversations = field(
        default_factory=LocalConversations
    )

    def conversation(self, key: str) -> Conversation:
        """The conversation kept under ``key`` (a new one when there is none)."""
        quiet = 60 * self.settings.answers.conversation_minutes
        turns = self.conversations.turns(key)
        return Conversation.from_json(turns, quiet=quiet) if turns else Conversation(quiet=quiet)

    def remember(self, chat_id: int, message_id: int, question: str) -> None:
        """Remember which question an answer message answers (in the database, when the
        index is there, so that every replica of the bot knows it)."""
        if isinstance(self.questions, core.SharedMemory):
            self.questions.remember(chat_id, message_id, question)
            return
        self.questions[(chat_id, message_id)] = question
        while len(self.questions) > REMEMBERED_QUESTIONS:
            self.questions.popitem(last=False)

    def is_admin(self, user_id: int | None) -> bool:
        return user_id is not None and user_id in self.settings.telegram.admin_user_ids


STATE_KEY = "quotebot"


def state_of(context: ContextTypes.DEFAULT_TYPE) -> BotState:
    """The bot's shared state."""
    state = context.bot_data[STATE_KEY]
    assert isinstance(state, BotState)
    return state
