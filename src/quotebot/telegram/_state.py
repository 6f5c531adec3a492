"""What the bot keeps while it runs, typed as ``context.bot_data`` (PTB's ContextTypes): the
settings, the index's store and the engine over it, the options passed down, who the admins
are, and its memory between updates (question limit, questions behind answers, conversations:
``core.BotMemory``, in the process or in the index's database)."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

from telegram.ext import CallbackContext, ContextTypes, ExtBot, filters

from quotebot import core
from quotebot.core import Conversation, Engine
from quotebot.settings import Settings


class BotState:
    """Everything the handlers share, as ``context.bot_data``. PTB makes it empty, with the
    Application; :meth:`set_up` fills it before the first update."""

    settings: Settings
    store: core.Store
    engine: Engine
    options: core.Options
    memory: core.BotMemory
    feeds: core.Subscriptions
    """The feeds the index follows (one kept connection, with a database)."""
    admins: filters.User
    """The bot's admins (``ADMIN_USER_IDS``): the filter the admin commands are behind."""

    def __init__(self) -> None:
        self.write_lock = asyncio.Lock()
        # set at the first stop signal: an /add or upload in progress gives up at once
        self.stopping = threading.Event()
        # button presses already answered (a callback query is answered once); dropped when done
        self.answered_presses: set[str] = set()

    def set_up(self, settings: Settings, store: core.Store, options: core.Options) -> None:
        """Answer from ``store`` as the settings (read once, by the front end) say."""
        self.settings, self.store, self.options = settings, store, options
        self.engine = Engine(store, options.show_threshold)
        self.feeds = store.subscriptions()
        self.memory = core.bot_memory(
            settings.storage.database_url or None, settings.telegram.questions_per_minute
        )
        self.admins = filters.User(user_id=settings.telegram.admin_user_ids)

    def conversation(self, key: str) -> Conversation:
        """The conversation kept under ``key`` (a new one when there is none)."""
        quiet = 60 * self.settings.answers.conversation_minutes
        turns = self.memory.conversations.turns(key)
        return Conversation.from_json(turns, quiet=quiet) if turns else Conversation(quiet=quiet)

    def remember(self, chat_id: int, message_id: int, question: str) -> None:
        """Remember which question an answer message answers (in the database, when the
        index is there, so that every replica of the bot knows it)."""
        self.memory.questions.remember(chat_id, message_id, question)


BotContext = CallbackContext[ExtBot[None], dict[Any, Any], dict[Any, Any], BotState]
"""The context every handler gets: ``context.bot_data`` is the :class:`BotState`."""
CONTEXT_TYPES = ContextTypes(bot_data=BotState)


def state_of(context: BotContext) -> BotState:
    """The bot's shared state."""
    return context.bot_data
