"""Which messages are meant for the bot, and the question they ask.

In private chats every text message is a question. In groups only ``/ask``, ``/ask@thisbot``,
messages that mention ``@thisbot`` (a mention entity, as Telegram marks it) and replies to the
bot's own messages are; ``/ask@otherbot`` is left to the other bot.
"""

from __future__ import annotations

import re

from telegram import Bot, Message, MessageEntity
from telegram.ext import filters

_LEADING_PUNCTUATION = " \t\n,.:;!-–—"


def _is_reply_to_bot(message: Message, bot: Bot) -> bool:
    replied = message.reply_to_message
    return bool(replied and replied.from_user and replied.from_user.id == bot.id)


def mentions_bot(message: Message, bot: Bot) -> bool:
    """Whether the message mentions the bot: ``@thisbot``, or a mention of its user."""
    username = (bot.username or "").lower()
    entities = message.parse_entities([MessageEntity.MENTION, MessageEntity.TEXT_MENTION])
    for entity, text in entities.items():
        if entity.type == MessageEntity.MENTION and username and text[1:].lower() == username:
            return True
        if entity.type == MessageEntity.TEXT_MENTION and entity.user and entity.user.id == bot.id:
            return True
    return False


def is_addressed(message: Message, bot: Bot) -> bool:
    """Whether a group message is meant for the bot: a mention of it, or a reply to it."""
    return mentions_bot(message, bot) or _is_reply_to_bot(message, bot)


class _Addressed(filters.MessageFilter):
    """Group messages that mention the bot or reply to one of its messages."""

    def filter(self, message: Message) -> bool:
        return is_addressed(message, message.get_bot())


ADDRESSED = _Addressed(name="quotebot.ADDRESSED")


def _unmarked_ask(text: str, username: str) -> re.Match[str] | None:
    return re.match(rf"(?i)/ask(@{re.escape(username)})?(?=\s|$)", text) if username else None


class _UnmarkedAsk(filters.MessageFilter):
    """``/ask`` or ``/ask@thisbot`` in a message whose client sent no entities at all.

    Telegram marks commands with a ``bot_command`` entity, which CommandHandler needs; this
    catches the same text when a client (or a test server) leaves the entities out.
    """

    def filter(self, message: Message) -> bool:
        bot = message.get_bot()
        return not message.entities and bool(_unmarked_ask(message.text or "", bot.username))


UNMARKED_ASK = _UnmarkedAsk(name="quotebot.UNMARKED_ASK")


def question_of(message: Message, bot: Bot) -> str:
    """The question a message asks: its text without a leading command or the bot's mention."""
    text = message.text or message.caption or ""
    entities = message.parse_entities() if message.text else message.parse_caption_entities()
    for entity, value in entities.items():
        if entity.type == MessageEntity.BOT_COMMAND and entity.offset == 0:
            text = text[len(value) :]
        elif entity.type == MessageEntity.TEXT_MENTION and entity.user and entity.user.id == bot.id:
            text = text.replace(value, " ", 1)
    unmarked = None if entities else _unmarked_ask(text, bot.username or "")
    if unmarked:
        text = text[unmarked.end() :]
    if bot.username:
        text = re.sub(rf"(?i)@{re.escape(bot.username)}\b", " ", text)
    return " ".join(text.split()).lstrip(_LEADING_PUNCTUATION)
