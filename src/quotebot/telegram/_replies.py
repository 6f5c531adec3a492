"""Sending replies: as a reply to the question, in HTML, falling back to plain text."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Sequence

from telegram import Bot, InlineKeyboardMarkup, LinkPreviewOptions, Message, ReplyParameters
from telegram.constants import ChatAction, ParseMode
from telegram.error import BadRequest, TelegramError

from quotebot.telegram._formatting import Block, pack

log = logging.getLogger(__name__)
TYPING_EVERY = 4.5  # seconds; Telegram shows "typing…" for about 5
_NO_PREVIEW = LinkPreviewOptions(is_disabled=True)


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
                await message.reply_text(
                    part.html,
                    parse_mode=ParseMode.HTML,
                    reply_markup=keyboard,
                    reply_parameters=where,
                    link_preview_options=_NO_PREVIEW,
                )
            )
        except BadRequest as error:
            if not _refused_markup(error):
                raise
            log.warning("Telegram refused the HTML (%s); sending plain text", error.message)
            sent.append(
                await message.reply_text(
                    part.plain,
                    reply_markup=keyboard,
                    reply_parameters=where,
                    link_preview_options=_NO_PREVIEW,
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
