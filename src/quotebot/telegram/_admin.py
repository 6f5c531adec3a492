"""Admins add and remove articles from the chat: documents, /add URL, /remove ID."""

from __future__ import annotations

import asyncio
import ctypes
import gc
import hashlib
import logging
import re
import tempfile
from collections.abc import Callable, Coroutine, Sequence
from pathlib import Path
from typing import Any

from telegram import Update

from quotebot import core
from quotebot.records import ArticleInfo
from quotebot.telegram._formatting import Block, Run, text_blocks
from quotebot.telegram._replies import reply, typing
from quotebot.telegram._state import BotContext, BotState, state_of

log = logging.getLogger(__name__)

MAX_DOWNLOAD = 20 * 1024 * 1024
"""The Bot API serves files up to 20 MB to bots."""
ONLY_ADMINS = "Thanks! Only the bot's admins can add articles, so nothing was indexed."
ONLY_ADMINS_ADD = "Only the bot's admins can add articles."
ONLY_ADMINS_REMOVE = "Only the bot's admins can remove articles."
ONLYWEB_ADDRESSES = (
    "Nothing was indexed: /add takes http:// or https:// addresses of articles or feeds "
    "(to add a file, send it to me as a document)."
)
MAX_NAME_BYTES = 200
STOPPED = (
    "Stopped: the bot is shutting down, so nothing was indexed and the index is as it was. "
    "Please send it again when the bot is back."
)
"""Longest upload file name kept (file systems allow 255 bytes)."""
CAPPED = "passages were indexed (QUOTEBOT_MAX_PASSAGES)"
"""How the note on an article cut at the passage cap ends."""
_UNSAFE = re.compile(r"[^\w.\-]+")
WEB_ADDRESS = re.compile(r"^https?://[^/\s]", re.IGNORECASE)


Handler = Callable[[Update, BotContext], Coroutine[Any, Any, None]]


def refusal(text: str) -> Handler:
    """A handler that says ``text``: what the admin commands answer everyone else (they are
    behind the admins' ``filters.User``; this one takes what it lets through)."""

    async def refuse(update: Update, context: BotContext) -> None:
        if update.effective_message is not None:
            await reply(update.effective_message, text_blocks(text))

    return refuse


def _safe_name(name: str | None, unique_id: str) -> str:
    """A file name that keeps the upload's name and suffix (its stem is the article id) but
    cannot leave its folder or exceed the file system's limit; a nameless upload is named by
    Telegram's id of the file, so that two of them do not replace each other."""
    base = _UNSAFE.sub("_", Path(name or "").name).strip("._")
    if not base:
        return f"upload-{unique_id}.txt"
    path = Path(base)
    if len(base.encode()) <= MAX_NAME_BYTES:
        return base
    digest = hashlib.sha256(base.encode()).hexdigest()[:8]  # long names that start alike
    stem = path.stem.encode()[: MAX_NAME_BYTES - 40].decode(errors="ignore").rstrip("._")
    return f"{stem}-{digest}{path.suffix[:20]}"


async def receive_document(update: Update, context: BotContext) -> None:
    """A document: from an admin, index it at once; from anyone else, decline politely.

    (In groups with privacy mode on, Telegram delivers only documents sent in reply to the bot
    or mentioning it in the caption.)
    """
    message = update.effective_message
    if message is None or message.document is None:
        return
    state = state_of(context)
    document = message.document
    name = _safe_name(document.file_name, document.file_unique_id)
    if document.file_size and document.file_size > MAX_DOWNLOAD:
        size = document.file_size / 1e6
        await reply(
            message, text_blocks(f"{name} is too large ({size:.1f} MB); the limit is 20 MB.")
        )
        return
    async with typing(context.bot, message):
        with tempfile.TemporaryDirectory(prefix="quotebot-upload-") as folder:
            path = Path(folder) / name
            telegram_file = await context.bot.get_file(document.file_id)
            await telegram_file.download_to_drive(path)
            blocks = await _add(state, [path], folder)
    await reply(message, blocks)


async def add_command(update: Update, context: BotContext) -> None:
    """/add URL (admins): fetch an article from the web and index it."""
    message = update.effective_message
    if message is None:
        return
    state = state_of(context)
    urls = [arg for arg in context.args or [] if arg.strip()]
    if not urls:
        await reply(message, text_blocks("Usage: /add URL (the address of an article or feed)"))
        return
    if not all(WEB_ADDRESS.match(url) for url in urls):  # never a path on this machine
        await reply(message, text_blocks(ONLYWEB_ADDRESSES))
        return
    async with typing(context.bot, message):
        blocks = await _add(state, urls, None)
    await reply(message, blocks)


async def remove_command(update: Update, context: BotContext) -> None:
    """/remove ID (admins): remove articles by id (as /sources shows them)."""
    message = update.effective_message
    if message is None:
        return
    state = state_of(context)
    ids = [arg for arg in context.args or [] if arg.strip()]
    if not ids:
        await reply(message, text_blocks("Usage: /remove ID (the ids /sources shows)"))
        return
    async with state.write_lock:
        try:
            report = await asyncio.to_thread(core.remove, state.store, ids, state.options.index)
        except core.StoreError as error:
            await reply(message, text_blocks(f"Nothing was removed: {error}"))
            return
    lines = [f"Removed {article_id}." for article_id in report.removed]
    lines += [str(problem) for problem in report.skipped]
    lines.append(_holds(report))
    await reply(message, text_blocks(*lines))


async def _add(state: BotState, sources: Sequence[str | Path], folder: str | None) -> list[Block]:
    """Index sources (one writer at a time) and describe what happened."""
    async with state.write_lock:
        try:
            report = await asyncio.to_thread(_add_and_give_back, state, sources)
        except Stopping:
            log.warning("shutting down: an add in progress was given up, nothing was written")
            return text_blocks(STOPPED)
        except (core.StoreError, OSError, ValueError) as error:
            log.error("indexing failed: %s", error)
            return text_blocks(f"Nothing was indexed: {_clean(str(error), folder)}")
    return _describe(report, state, folder)


def _add_and_give_back(state: BotState, sources: Sequence[str | Path]) -> core.Report:
    """``core.add``, then the memory it used handed back to the system: a big page's parse
    and its embedding batches otherwise stay in the process (glibc keeps freed memory)."""

    def progress(done: int, total: int) -> None:
        if state.stopping.is_set():
            raise Stopping

    try:
        return core.add(state.store, sources, progress, state.options.index)
    finally:
        _give_memory_back()


class Stopping(Exception):
    """The bot is shutting down: the change in progress gives up, nothing written."""


def _give_memory_back() -> None:
    gc.collect()
    try:
        trim = ctypes.CDLL(None).malloc_trim  # glibc only
    except (OSError, AttributeError):
        return
    trim(0)


def _clean(text: str, folder: str | None) -> str:
    """A message without the temporary folder the upload was saved in."""
    return text.replace(folder.rstrip("/") + "/", "") if folder else text


def _describe(report: core.Report, state: BotState, folder: str | None) -> list[Block]:
    reasons = [_clean(str(problem), folder) for problem in report.skipped]
    if not report.indexed:
        why = "; ".join(reasons) or "no articles found in it"
        return text_blocks(f"Nothing was indexed: {why}. The index is as it was.")
    info = {article.id: article for article in state.engine.index.articles()}
    blocks: list[Block] = []
    for label, ids in [
        ("Added", report.added),
        ("Updated", report.updated),
        ("Already indexed, unchanged", report.unchanged),
    ]:
        for article_id in ids:
            article = info.get(article_id)
            title = article.title if article else article_id
            count = article.paragraphs if article else 0
            blocks.append(
                Block(
                    (
                        Run(f"{label}: "),
                        Run(title, bold=True, link=article.url if article else None),
                        Run(f" — {count} paragraph{'s' if count != 1 else ''}, id "),
                        Run(article_id, code=True),
                    )
                )
            )
    blocks += text_blocks(*(f"Note: {_clean(note, folder)}." for note in _notes(report, info)))
    blocks += text_blocks(*(f"Skipped {reason}" for reason in reasons))
    blocks += text_blocks(_holds(report))
    return blocks


def _notes(report: core.Report, info: dict[str, ArticleInfo]) -> list[str]:
    """The notes on this change (as ``quotebot index add`` prints them), without the ones on
    articles it did not touch (every change splits every article again, and notes the cap
    on each article that passes it)."""
    changed = [info.get(i) for i in report.added + report.updated]
    names = [f"{a.source or a.id}:" for a in changed if a is not None]
    return [
        note
        for note in report.notes
        if CAPPED not in note or any(note.startswith(name) for name in names)
    ]


def _holds(report: core.Report) -> str:
    articles = core.counted(report.articles, "article")
    passages = core.counted(report.passages, "passage")
    return f"The index now holds {articles} ({passages})."
