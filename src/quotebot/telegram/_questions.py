"""Answering questions, the "More sources" button, and the help commands."""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Sequence

from telegram import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    MaybeInaccessibleMessage,
    Message,
    Update,
)
from telegram.constants import ChatType
from telegram.error import TelegramError

from quotebot import core
from quotebot.records import Hit
from quotebot.telegram._addressing import question_of
from quotebot.telegram._formatting import (
    Block,
    Run,
    answer_blocks,
    passage_blocks,
    source_blocks,
    text_blocks,
)
from quotebot.telegram._replies import reply, typing
from quotebot.telegram._state import BotContext, BotState, state_of
from quotebot.terminal import render_explanation

log = logging.getLogger(__name__)

MORE = "more:"
"""Callback data of the "More sources" button: ``more:<first passage to show>``."""
PAGE = 4
MORE_POOL = 20
"""Passages looked at for "More sources" (those that bear on the question are shown)."""
BEARS = 0.5
"""The share of a question's term weight a passage must hold to be listed as a source."""
NO_OTHERS = "No other passage in my articles bears on this question."
NO_MORE = "There are no more sources for this question."
EXPIRED = "This button has expired. Please ask the question again."
UNAVAILABLE = "My articles are not available right now; please try again in a moment."
ONLY_ADMINS_WHY = "Only the bot's admins can see how an answer was found."
NEW_CONVERSATION = "New conversation: your next question starts afresh."


def _help_text(username: str, admin: bool) -> list[str]:
    lines = [
        "I answer questions about my news articles by quoting them, with the source.",
        "In a private chat, just send me your question.",
        f"In a group, write /ask followed by your question (or /ask@{username} …), "
        f"mention @{username} in your question, or reply to one of my messages.",
        "/sources lists the articles I know.",
        'Follow-ups lean on your last question for a while ("Who is the Kremlin spokesperson?" '
        'then "When did he address the deployment?"), in a group when you reply to my answer; '
        "a question that stands on its own starts afresh, and /new forgets the conversation.",
    ]
    if admin:
        kinds = ", ".join(core.SUPPORTED_SUFFIXES[:-1]) + f" or {core.SUPPORTED_SUFFIXES[-1]}"
        lines.append(
            f"Admin: send me an article as a file ({kinds}) to add it; "
            "/add URL adds an article from the web; /remove ID removes one; /feed add URL "
            "follows a feed (/feed list, /feed remove URL); /why, as a reply to one of my "
            "answers, says how it was found."
        )
    return lines


async def help_command(update: Update, context: BotContext) -> None:
    """/start and /help: how to ask, in private and in groups."""
    message = update.effective_message
    if message is None:
        return
    admin = bool(state_of(context).admins.check_update(update))
    await reply(message, text_blocks(*_help_text(context.bot.username, admin)))


async def sources_command(update: Update, context: BotContext) -> None:
    """/sources: the indexed articles, with titles, links and ids."""
    message = update.effective_message
    if message is None:
        return
    state = state_of(context)
    try:
        articles = await asyncio.to_thread(lambda: state.engine.index.articles())
    except core.StoreError as error:
        log.error("no usable index: %s", error)
        await reply(message, text_blocks(UNAVAILABLE))
        return
    if not articles:
        await reply(message, text_blocks("No articles are indexed yet."))
        return
    header = Block((Run(f"I know {len(articles)} article{'s' if len(articles) != 1 else ''}:"),))
    await reply(message, [header, *source_blocks(articles)])


async def ask_command(update: Update, context: BotContext) -> None:
    """/ask QUESTION (also /ask@thisbot); /ask alone gets a usage hint."""
    await ask(update, context)


async def ask(update: Update, context: BotContext) -> None:
    """Answer the question a message asks, as a reply to it."""
    message = update.effective_message
    if message is None:
        return
    question = question_of(message, context.bot)
    if not question:
        await reply(message, text_blocks(_usage(message, context.bot.username)))
        return
    state = state_of(context)
    user = update.effective_user
    try:
        allowed, wait, tell = state.memory.limiter.allow(user.id if user else message.chat_id)
    except core.StoreError as error:  # the shared limit's database is down: the index too
        log.error("no usable index: %s", error)
        await reply(message, text_blocks(UNAVAILABLE))
        return
    if not allowed:
        if tell:
            note = (
                f"You're asking faster than I can keep up with (up to "
                f"{state.memory.limiter.per_minute} questions a minute). "
                f"Please ask again in {math.ceil(wait)} seconds."
            )
            await reply(message, text_blocks(note))
        return
    key = _conversation_key(message, context)
    conversation = state.conversation(key)
    async with typing(context.bot, message):
        try:
            result = await asyncio.to_thread(state.engine.follow, conversation, question)
            others = await asyncio.to_thread(
                _bearing, state, result.searched_as or question, result.passages[1:]
            )
        except ValueError as error:  # longer than any question
            await reply(message, text_blocks(str(error).capitalize() + "."))
            return
        except core.StoreError as error:
            log.error("no usable index: %s", error)
            await reply(message, text_blocks(UNAVAILABLE))
            return
    state.memory.conversations.save(key, conversation.to_json())
    log.info("answering in chat %s (found: %s)", message.chat_id, result.found)
    markup = _more_button(1) if result.found and others else None
    sent = await reply(message, answer_blocks(result), markup)
    searched = result.searched_as or question  # a follow-up made whole: it stands alone
    for part in sent:  # for "More sources", /why and follow-ups in reply to any part
        state.remember(part.chat_id, part.message_id, searched)
        state.memory.conversations.link(part.chat_id, part.message_id, key)


def _conversation_key(message: Message, context: BotContext) -> str:
    """The conversation a question belongs to: its private chat's; in a group, the reply
    chain's when it replies to one of the bot's answers to the same user, else a new one
    (two users in a group never share a conversation)."""
    if message.chat.type == ChatType.PRIVATE:
        return f"private:{message.chat_id}"
    user = message.from_user.id if message.from_user else 0
    chain = f"group:{message.chat_id}:{user}:"
    replied = message.reply_to_message
    if replied is not None and replied.from_user and replied.from_user.id == context.bot.id:
        key = state_of(context).memory.conversations.thread(message.chat_id, replied.message_id)
        if key is not None and key.startswith(chain):
            return key
    return f"{chain}{message.message_id}"


async def new_command(update: Update, context: BotContext) -> None:
    """/new: forget the conversation (in a group: the reply chain /new answers, if any)."""
    message = update.effective_message
    if message is None:
        return
    state = state_of(context)
    key = _conversation_key(message, context)
    state.memory.conversations.save(key, core.Conversation().to_json())
    await reply(message, text_blocks(NEW_CONVERSATION))


def _usage(message: Message, username: str) -> str:
    if message.chat.type == ChatType.PRIVATE:
        return "Send me your question about my articles (as it is, or after /ask)."
    return (
        f"Ask me like this: /ask@{username} followed by your question, "
        f"or mention @{username} in it."
    )


def _more_button(start: int) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton("More sources", callback_data=f"{MORE}{start}")]]
    )


def _question_behind(
    message: MaybeInaccessibleMessage | None, context: BotContext
) -> tuple[str, Message] | None:
    """The question an answer message answers, and the message that asked it (or the answer)."""
    if not isinstance(message, Message):
        return None
    asked = message.reply_to_message
    if asked is not None and asked.from_user and asked.from_user.id == context.bot.id:
        asked = None
    remembered = state_of(context).memory.questions.get((message.chat_id, message.message_id))
    question = remembered or (question_of(asked, context.bot) if asked is not None else "")
    if not question:
        return None
    return question, asked or message


async def more_sources(update: Update, context: BotContext) -> None:
    """The "More sources" button: the next passages, with title, paragraph and a short quote."""
    query = update.callback_query
    if query is None:
        return
    try:
        start = max(1, int((query.data or "")[len(MORE) :]))
    except ValueError:
        start = 0
    found = _question_behind(query.message, context) if start else None
    state = state_of(context)
    if found is None:
        gone = EXPIRED if not start or await _reachable(state) else UNAVAILABLE
        await query.answer(gone, show_alert=True)
        return
    try:
        await query.answer()
    except TelegramError as error:  # the sources still follow
        log.warning("could not answer the button press: %s", error)
    else:
        state.answered_presses.add(query.id)  # a failure from here is told in the chat
    question, asked = found
    try:
        result = await asyncio.to_thread(
            state.engine.answer, question, max(MORE_POOL, start + PAGE + 1)
        )
        others = await asyncio.to_thread(
            _bearing, state, result.searched_as or question, result.passages[1:]
        )
    except core.StoreError as error:
        log.error("no usable index: %s", error)
        await reply(asked, text_blocks(UNAVAILABLE))
        return
    hits = others[start - 1 : start - 1 + PAGE]
    if not hits:
        await reply(asked, text_blocks(NO_OTHERS if start == 1 else NO_MORE))
        return
    more = start - 1 + PAGE < len(others)
    markup = _more_button(start + PAGE) if more else None
    header = Block(
        (Run("More sources for: "), Run(question, italic=True)),
    )
    sent = await reply(asked, [header, *passage_blocks(hits, start + 1)], markup)
    if more:
        state.remember(sent[-1].chat_id, sent[-1].message_id, question)
    await _drop_button(query.message)
    state.answered_presses.discard(query.id)


def _bearing(state: BotState, question: str, hits: Sequence[Hit]) -> list[Hit]:
    """The hits that bear on the question: their article's title and the passage hold at
    least :data:`BEARS` of the weight of the question's terms (the rarer a term in the
    index, the more it weighs; terms no passage holds left out), as the search's second
    stage weighs them. A passage near in meaning but about something else is left out."""
    return core.bearing(state.engine.index, question, hits, BEARS)


async def _reachable(state: BotState) -> bool:
    """Whether the index can be read; with the database down, the questions behind the
    buttons (kept there) are out of reach too, and the button has not expired."""
    try:
        await asyncio.to_thread(lambda: state.engine.index)
    except core.StoreError as error:
        log.error("no usable index: %s", error)
        return False
    return True


async def _drop_button(message: MaybeInaccessibleMessage | None) -> None:
    """Take the pressed button off its message, so it is not pressed twice."""
    if isinstance(message, Message) and message.reply_markup:
        try:
            await message.edit_reply_markup(None)
        except TelegramError as error:  # cosmetic: the sources were already sent
            log.info("could not remove the button: %s", error)


async def why_command(update: Update, context: BotContext) -> None:
    """/why as a reply to an answer (admins): how it was found, stage by stage."""
    message = update.effective_message
    if message is None:
        return
    state = state_of(context)
    answered = message.reply_to_message
    mine = answered is not None and answered.from_user and answered.from_user.id == context.bot.id
    found = _question_behind(answered, context) if mine else None
    if found is None:
        await reply(message, text_blocks("Reply /why to one of my answers to see how I found it."))
        return
    question, _ = found
    try:
        result = await asyncio.to_thread(state.engine.answer, question, explain=True)
    except core.StoreError as error:
        log.error("no usable index: %s", error)
        await reply(message, text_blocks(UNAVAILABLE))
        return
    lines = render_explanation(result).plain.splitlines()
    await reply(
        message, [Block((Run(question, italic=True),)), Block((Run("\n".join(lines), code=True),))]
    )


async def expired_button(update: Update, context: BotContext) -> None:
    """Any other button press: answered, and said to have expired."""
    if update.callback_query is not None:
        await update.callback_query.answer(EXPIRED, show_alert=True)


async def not_a_question(update: Update, context: BotContext) -> None:
    """Something in a private chat that is not a text question (a sticker, an unknown command)."""
    message = update.effective_message
    if message is not None:
        await reply(message, text_blocks("Send me your question as text, or see /help."))
