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
RETRY_WINDOW = 60.0
"""Seconds a reply keeps being retried (flood control, 5xx, lost connections), with backoff."""
APOLOGY_WINDOW = 10.0
"""Seconds an apology keeps being retried, and only while it surely did not arrive."""


class Undelivered(Exception):
    """A reply that could not be sent: it kept failing for its whole retry window, or an
    apology failed in a way that may hide one that arrived. The last failure is its cause."""


def _transient(error: TelegramError) -> bool:
    """A failure that may pass: flood control, a 5xx, no connection or a lost answer; not a
    refusal (PTB's BadRequest is a NetworkError too) nor a chat that blocked the bot (403)."""
    if isinstance(error, RetryAfter):
        return True
    if isinstance(error, BadRequest):
        return False
    return isinstance(error, NetworkError) or type(error) is TelegramError


def _surely_unsent(error: TelegramError) -> bool:
    """Telegram cannot have carried this request out: flood control, or no connection."""
    if isinstance(error, RetryAfter):
        return True
    return isinstance(
        error.__cause__, httpx.ConnectError | httpx.ConnectTimeout | httpx.PoolTimeout
    )


async def deliver(
    send: Callable[[], Awaitable[Message]],
    window: float | None = None,
    *,
    retry_unsure: bool = True,
) -> Message:
    """Send, retrying transient failures with backoff (1, 2, 4 … 16 s, or as long as a 429's
    ``retry_after`` says) for up to ``window`` seconds (default :data:`RETRY_WINDOW`).

    A failure after the request went out (a 5xx, a reset, a lost answer) may hide a message
    that did arrive. It is retried all the same (an answer lost is worse than one repeated),
    unless ``retry_unsure`` is False: an apology is never sent twice.

    Raises:
        Undelivered: it kept failing until the window closed, or failed unsure while
            ``retry_unsure`` is False.
        TelegramError: Telegram refused it (a 400, a 403 ...).
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + (RETRY_WINDOW if window is None else window)
    delay = 1.0
    while True:
        try:
            return await send()
        except TelegramError as error:
            if not _transient(error):
                raise
            if not retry_unsure and not _surely_unsent(error):
                raise Undelivered(f"{error} (not sent again: it may have arrived)") from error
            wait = delay
            if isinstance(error, RetryAfter):
                after = error.retry_after
                wait = after.total_seconds() if isinstance(after, timedelta) else float(after)
            if loop.time() + wait > deadline:
                raise Undelivered(str(error)) from error
            log.info("sending failed (%s); trying again in %.0f s", error, wait)
            await asyncio.sleep(wait)
            delay = min(delay * 2, 16)


def _refused_markup(error: BadRequest) -> bool:
    return "can't parse entities" in error.message.lower()


async def reply(
    message: Message,
    blocks: Sequence[Block],
    markup: InlineKeyboardMarkup | None = None,
    *,
    window: float | None = None,
    retry_unsure: bool = True,
) -> list[Message]:
    """Send blocks as replies to ``message`` (split to fit), the markup on the last one.

    Each part goes as HTML; if Telegram refuses the markup ("can't parse entities"), the
    same part is sent again as plain text. Each part is retried as :func:`deliver` says.
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
                    ),
                    window,
                    retry_unsure=retry_unsure,
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
                    ),
                    window,
                    retry_unsure=retry_unsure,
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
