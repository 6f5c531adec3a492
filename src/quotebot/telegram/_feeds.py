"""Admins follow feeds from the chat (/feed add|list|remove), and the bot polls the due ones
in the background (a JobQueue job): fetched off the event loop, indexed under the writers'
lock as /add is, so that answers never wait for a feed."""

from __future__ import annotations

import asyncio
import logging
import time

from telegram import Update

from quotebot import core
from quotebot.telegram._admin import WEB_ADDRESS
from quotebot.telegram._formatting import text_blocks
from quotebot.telegram._replies import reply
from quotebot.telegram._state import BotContext, state_of

log = logging.getLogger(__name__)

ONLY_ADMINS_FEED = "Only the bot's admins can follow feeds."
USAGE = (
    "Usage: /feed add URL [--every 30m] [--keep 30d], /feed list, "
    "/feed remove URL [--drop-articles]"
)
ONLY_FEED_ADDRESSES = "/feed add takes the http:// or https:// address of an RSS or Atom feed."


async def feed_command(update: Update, context: BotContext) -> None:
    """/feed add URL [--every D] [--keep D], /feed list, /feed remove URL [--drop-articles]
    (admins)."""
    message = update.effective_message
    if message is None:
        return
    state = state_of(context)
    words = [arg for arg in context.args or [] if arg.strip()]
    verb, rest = (words[0].lower(), words[1:]) if words else ("", [])
    if verb == "list":
        now = time.time()
        feeds = await asyncio.to_thread(state.feeds.feeds)
        lines = [core.describe(feed, now) for feed in feeds] or ["No feeds are followed."]
        await reply(message, text_blocks(*lines))
        return
    if verb not in ("add", "remove") or not rest:
        await reply(message, text_blocks(USAGE))
        return
    url, flags = rest[0], rest[1:]
    if not WEB_ADDRESS.match(url):  # never a path on this machine
        await reply(message, text_blocks(ONLY_FEED_ADDRESSES))
        return
    try:
        said = await (_add(context, url, flags) if verb == "add" else _remove(context, url, flags))
    except (ValueError, core.StoreError) as error:
        said = f"Nothing was changed: {error}"
    await reply(message, text_blocks(said))


async def _add(context: BotContext, url: str, flags: list[str]) -> str:
    state = state_of(context)
    defaults = state.options.feeds
    if len(flags) % 2 or set(flags[::2]) - {"--every", "--keep"}:
        raise ValueError(f"the options are --every DURATION and --keep DURATION. {USAGE}")
    given = dict(zip(flags[::2], flags[1::2], strict=True))
    every = core.parse_duration(given["--every"]) if "--every" in given else defaults.every
    keep = core.parse_duration(given["--keep"]) if "--keep" in given else defaults.keep
    before = await asyncio.to_thread(core.follow, state.feeds, url, every, keep)
    how = f"every {core.say_duration(every)}, entries kept {core.say_duration(keep)}"
    if before is not None:
        return f"Already following {url}; now {how}."
    return f"Following {url} ({how}). Its entries come in at the next poll, within a minute."


async def _remove(context: BotContext, url: str, flags: list[str]) -> str:
    state = state_of(context)
    if set(flags) - {"--drop-articles"}:
        raise ValueError(f"the only option is --drop-articles. {USAGE}")
    async with state.write_lock:
        feed, report = await asyncio.to_thread(
            core.unfollow, state.store, state.feeds, url, bool(flags), state.options.poll
        )
    if feed is None:
        return f"{url} is not followed (/feed list shows the feeds followed)."
    if report is not None:
        return f"Stopped following {url}; removed {core.counted(len(report.removed), 'article')}."
    return f"Stopped following {url}; what it brought stays."


async def poll_feeds(context: BotContext) -> None:
    """The JobQueue's job: poll the due feeds, then index what they brought (one change,
    under the writers' lock); one log line per feed."""
    state = state_of(context)
    options = state.options.poll
    try:
        checked = await asyncio.to_thread(core.check_due, state.store, state.feeds, options)
        if not checked:
            return
        async with state.write_lock:
            reports = await asyncio.to_thread(
                core.index_checked, state.store, state.feeds, checked, options
            )
    except core.StoreError as error:
        log.warning("feeds not polled: %s", error)
        return
    for report in reports:
        log.info("%s", report.line())
