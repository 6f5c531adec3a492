"""Sending replies: as a reply to the question, in HTML, falling back to plain text."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from datetime import timedelta

import httpx
from telegram import Bot, InlineKeyboardMarkup, LinkPreviewOptions, Message, ReplyParameters
from telegram.constants import ChatAction, ParseMode
from telegram.error import BadRequest, NetworkError, RetryAfter, TelegramError

from quotebot.telegram._formatting import Block, pack

log = logging.getLogger(__name__)
TYPING_EVERY = 4.5  # seconds; Telegram shows "typing…" for about 5
_NO_PREVIEW = LinkPreviewOptions(is_disabled=True)
RETRY_BUDGET = 60.0  # seconds a reply keeps being retried (connection errors, 5xx, 429)


class MaybeDelivered(Exception):
    """A reply whose request went out but whose answer was lost, twice: it may well have
    arrived. It is logged, never apologised for (that would invite the question again)."""


def _not_sent(error: TelegramError) -> bool:
    """Telegram cannot have carried this request out: flood control, or no connection."""
    if isinstance(error, RetryAfter):
        return True
    return isinstance(
        error.__cause__, httpx.ConnectError | httpx.ConnectTimeout | httpx.PoolTimeout
    )


def _ambiguous(error: TelegramError) -> bool:
    """The request may have been carried out: a lost or unreadable answer, a 5xx (not a
    refusal: PTB's BadRequest is a NetworkError too)."""
    if isinstance(error, BadRequest):
        return False
    return isinstance(error, NetworkError) or type(error) is TelegramError


async def deliver(send: Callable[[], Awaitable[Message]]) -> Message:
    """Send, retrying with backoff for up to :data:`RETRY_BUDGET` seconds: flood control
    (as long as ``retry_after`` says), connection errors, and a 5xx or a lost answer once
    (so that a message that did arrive gets at most one extra copy).

    Raises:
        MaybeDelivered: the request may have been carried out, and a retry failed too.
        TelegramError: Telegram refused it, or it kept failing before it could be sent.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + RETRY_BUDGET
    delay, retried_unsure = 1.0, False
    while True:
        try:
            return await send()
        except TelegramError as error:
            unsent = _not_sent(error)
            if not unsent and not _ambiguous(error):
                raise
            if not unsent:
                if retried_unsure:
                    raise MaybeDelivered(str(error)) from error
                retried_unsure = True
            wait = delay
            if isinstance(error, RetryAfter):
                after = error.retry_after
                wait = after.total_seconds() if isinstance(after, timedelta) else float(after)
            if loop.time() + wait > deadline:
                if retried_unsure:
                    raise MaybeDelivered(str(error)) from error
                raise
            log.info("sending failed (%s); trying again in %.0f s", error, wait)
            await asyncio.sleep(wait)
            delay = min(delay * 2, 16)


def _refused_markup(error: BadRequest) -> bool:
    return "can't parse entities" in error.message.lower()


async def reply(
    message: Message,
    blocks: Sequence[Block],
    markup: InlineKeyboardMarkup | None = None,
) -> list[Message]:
    """Send blocks as replies to ``message`` (split to fit), the markup on the last one.

    Each part goes as HTML; if Telegram refuses the markup ("can't parse entities"), the
    same part is sent again as plain text.
    """
    parts = pack(blocks)
    sent: list[Message] = []
    for number, part in enumerate(parts, start=1):
        keyboard = markup if number == len(parts) else None
        where = ReplyParameters(message_id=message.message_id, allow_sending_without_reply=True)
        try:
            sent.append(
                await deliver(
                    lambda: message.reply_text(
                        part.html,  # noqa: B023  (called before the loop moves on)
                        parse_mode=ParseMode.HTML,
                        reply_markup=keyboard,  # noqa: B023
                        reply_parameters=where,  # noqa: B023
                        link_preview_options=_NO_PREVIEW,
                    )
                )
            )
        except BadRequest as error:
            if not _refused_markup(error):
                raise
            log.warning("Telegram refused the HTML (%s); sending plain text", error.message)
            sent.append(
                await deliver(
                    lambda: message.reply_text(
                        part.plain,  # noqa: B023
                        reply_markup=keyboard,  # noqa: B023
                        reply_parameters=where,  # noqa: B023
                        link_preview_options=_NO_PREVIEW,
                    )
                )
            )
    return sent


async def _send_typing(bot: Bot, message: Message) -> None:
    thread = message.message_thread_id if message.is_topic_message else None
    await bot.send_chat_action(message.chat_id, ChatAction.TYPING, message_thread_id=thread)


async def _keep_typing(bot: Bot, message: Message) -> None:
    while True:
        await asyncio.sleep(TYPING_EVERY)
        with contextlib.suppress(TelegramError):
            await _send_typing(bot, message)


@contextlib.asynccontextmanager
async def typing(bot: Bot, message: Message) -> AsyncIterator[None]:
    """Show "typing…" in the message's chat now and until the block ends (best effort)."""
    try:
        await _send_typing(bot, message)
    except TelegramError as error:
        log.info("could not show typing: %s", error)
    task = asyncio.create_task(_keep_typing(bot, message))
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
