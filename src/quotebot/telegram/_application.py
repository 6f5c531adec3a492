"""The python-telegram-bot Application: settings in, handlers wired, long polling."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import re
import signal
import threading
import time
from collections.abc import Callable, Coroutine, Sequence
from typing import Any
from urllib.parse import urlsplit

import httpx
from telegram import BotCommand, Message, Update
from telegram.error import Forbidden, TelegramError
from telegram.ext import (
    AIORateLimiter,
    Application,
    ApplicationHandlerStop,
    CallbackQueryHandler,
    CommandHandler,
    MessageHandler,
    TypeHandler,
    filters,
)

from quotebot import core
from quotebot.settings import Settings
from quotebot.telegram import _admin, _feeds, _questions
from quotebot.telegram._addressing import ADDRESSED, UNMARKED_ASK
from quotebot.telegram._formatting import text_blocks
from quotebot.telegram._replies import APOLOGY_WINDOW, Undelivered, reply
from quotebot.telegram._state import CONTEXT_TYPES, BotContext, BotState, state_of
from quotebot.telegram._updates import UpdatesRequest

log = logging.getLogger("quotebot.telegram")

COMMANDS = [
    BotCommand("start", "What I do and how to ask"),
    BotCommand("help", "How to ask, in private and in groups"),
    BotCommand("ask", "Ask a question: /ask how far is …?"),
    BotCommand("sources", "The articles I quote from"),
    BotCommand("new", "Start a new conversation (follow-ups lean on the last question)"),
]
_TOKEN = re.compile(r"^\d+:[A-Za-z0-9_-]+$")
SORRY = "Sorry, something went wrong while answering. Please try again."


JSONDict = dict[str, Any]


class RateLimiter(AIORateLimiter):
    """PTB's AIORateLimiter (429 ``retry_after`` honoured, Telegram's per-chat and overall
    message limits kept), except that "typing…" actions do not use up a group's 20 messages
    a minute."""

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, bool | JSONDict | list[JSONDict]]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: int | None,
    ) -> bool | JSONDict | list[JSONDict]:
        if endpoint == "sendChatAction":
            return await callback(*args, **kwargs)
        return await super().process_request(
            callback, args, kwargs, endpoint, data, rate_limit_args
        )


class BotConfigError(Exception):
    """A setting the bot cannot start with; the message names it and says what to do."""


def bot_token(settings: Settings) -> str:
    """The bot token from the settings, checked for its shape.

    Raises:
        BotConfigError: the token is missing or malformed.
    """
    secret = settings.telegram.bot_token
    if secret is None:
        raise BotConfigError(
            "TELEGRAM_BOT_TOKEN is not set; create a bot with @BotFather and put its token "
            "in .env (see bot/README.md)"
        )
    token = secret.get_secret_value().strip()
    if not _TOKEN.match(token):
        raise BotConfigError(
            "TELEGRAM_BOT_TOKEN is malformed; it looks like 123456789:AAH…, "
            "copy it again from @BotFather"
        )
    return token


def api_urls(settings: Settings) -> tuple[str, str]:
    """The Bot API and file URLs (each completed with the token by python-telegram-bot).

    A bare server address gets Telegram's ``/bot`` and ``/file/bot`` paths; without a file
    URL, files come from the same server as the API.
    """
    base = settings.telegram.api_base_url.strip().rstrip("/")
    if urlsplit(base).path == "":
        base += "/bot"
    files = (settings.telegram.api_file_url or "").strip().rstrip("/")
    if not files:
        parts = urlsplit(base)
        files = parts._replace(path=parts.path.replace("/bot", "/file/bot", 1)).geturl()
    elif urlsplit(files).path == "":
        files += "/file/bot"
    return base, files


def build_application(settings: Settings, store: core.Store | None = None) -> Application:  # type: ignore[type-arg]
    """The bot's Application with every handler, answering from the index in ``store``.

    Args:
        settings: The token, API URLs, admins, allowed chats and limits, and the options
            passed down (read once, by the front end).
        store: Where the index is. Defaults to the one the settings name.

    Raises:
        BotConfigError: the token is missing or malformed.
    """
    base_url, file_url = api_urls(settings)
    application = (
        Application.builder()
        .token(bot_token(settings))
        .base_url(base_url)
        .base_file_url(file_url)
        .get_updates_request(UpdatesRequest())
        .rate_limiter(RateLimiter(max_retries=3))
        .concurrent_updates(True)
        .post_init(_start)
        .context_types(CONTEXT_TYPES)
        .build()
    )
    options = core.Options.from_settings(settings)
    core.configure(options)
    store = store or core.location(
        settings.paths.index_dir, settings.storage.database_url or None, options.dense
    )
    state: BotState = application.bot_data
    state.set_up(settings, store, options)
    _add_handlers(application, state.admins)
    if application.job_queue is not None:  # python-telegram-bot[job-queue]
        every = options.feeds.check_seconds
        application.job_queue.run_repeating(
            _feeds.poll_feeds, interval=every, first=min(every, 5.0), name="feeds"
        )
    return application


def _add_handlers(application: Application, admins: filters.User) -> None:  # type: ignore[type-arg]
    """Every handler; the admin commands behind ``admins``, with a refusal for the rest."""
    new = filters.UpdateType.MESSAGE
    private = filters.ChatType.PRIVATE & new
    groups = filters.ChatType.GROUPS & new
    text = filters.TEXT & ~filters.COMMAND
    application.add_handler(TypeHandler(Update, _only_allowed_chats), group=-1)
    application.add_handlers(
        [
            CommandHandler(["start", "help"], _questions.help_command, filters=new),
            CommandHandler("sources", _questions.sources_command, filters=new),
            CommandHandler("ask", _questions.ask_command, filters=new),
            CommandHandler("add", _admin.add_command, filters=new & admins),
            CommandHandler("add", _admin.refusal(_admin.ONLY_ADMINS_ADD), filters=new),
            CommandHandler("remove", _admin.remove_command, filters=new & admins),
            CommandHandler("remove", _admin.refusal(_admin.ONLY_ADMINS_REMOVE), filters=new),
            CommandHandler("feed", _feeds.feed_command, filters=new & admins),
            CommandHandler("feed", _admin.refusal(_feeds.ONLY_ADMINS_FEED), filters=new),
            CommandHandler("why", _questions.why_command, filters=new & admins),
            CommandHandler("why", _admin.refusal(_questions.ONLY_ADMINS_WHY), filters=new),
            CommandHandler("new", _questions.new_command, filters=new),
            MessageHandler(filters.TEXT & new & UNMARKED_ASK, _questions.ask_command),
            MessageHandler(private & text, _questions.ask),
            MessageHandler(groups & text & ADDRESSED, _questions.ask),
            MessageHandler(filters.Document.ALL & new & admins, _admin.receive_document),
            MessageHandler(filters.Document.ALL & new, _admin.refusal(_admin.ONLY_ADMINS)),
            MessageHandler(private & ~filters.StatusUpdate.ALL, _questions.not_a_question),
            CallbackQueryHandler(_questions.more_sources, pattern=f"^{_questions.MORE}"),
            CallbackQueryHandler(_questions.expired_button),
        ]
    )
    application.add_error_handler(on_error)


async def _start(application: Application) -> None:  # type: ignore[type-arg]
    """Before the first update is taken: load the models, so that the first question is
    answered as fast as the rest, and register the command menu."""
    _take_stop_signals(application)
    started = time.monotonic()
    state: BotState = application.bot_data
    try:
        await asyncio.to_thread(state.engine.warm)
    except core.StoreError as error:  # questions will say the articles are unavailable
        log.warning("could not open the index yet: %s", error)
    else:
        log.info("models loaded in %.1f s", time.monotonic() - started)
    await _register_commands(application)


def _take_stop_signals(application: Application) -> None:  # type: ignore[type-arg]
    """SIGTERM and SIGINT stop the bot gracefully: the first tells an /add or upload in
    progress to give up (within a second or two, nothing written), then the updates in hand
    finish and the bot stops; later signals are ignored. (PTB's own handlers
    are off: they wait for the embedding to end, and a second signal breaks the shutdown.)"""
    if threading.current_thread() is not threading.main_thread():
        return  # an application run by hand, e.g. in tests: its runner stops it
    loop = asyncio.get_running_loop()
    for number in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(number, _stop, application, number)


def _stop(application: Application, number: int) -> None:  # type: ignore[type-arg]
    log.info("%s: stopping after the updates in hand", signal.Signals(number).name)
    application.bot_data.stopping.set()
    loop = asyncio.get_running_loop()
    for later in (signal.SIGTERM, signal.SIGINT):
        # ignored, not handled: Python puts its own handlers back to the default (die at
        # once) while it finalizes, which a second signal would then hit
        loop.remove_signal_handler(later)
        signal.signal(later, signal.SIG_IGN)
    application.stop_running()


async def _register_commands(application: Application) -> None:  # type: ignore[type-arg]
    """Register the command menu (best effort: the bot answers without it too)."""
    try:
        await application.bot.set_my_commands(COMMANDS)
    except TelegramError as error:
        log.warning("could not register the command list (setMyCommands): %s", error)
    log.info("answering as @%s", application.bot.username)


async def _only_allowed_chats(update: Update, context: BotContext) -> None:
    """Drop updates from chats not in ALLOWED_CHAT_IDS (when it is set)."""
    allowed = state_of(context).settings.telegram.allowed_chat_ids
    chat = update.effective_chat
    if not allowed or (chat is not None and chat.id in allowed):
        return
    if update.callback_query is not None:
        await update.callback_query.answer()
    log.info("ignoring an update from chat %s (not in ALLOWED_CHAT_IDS)", chat.id if chat else "?")
    raise ApplicationHandlerStop


async def on_error(update: object, context: BotContext) -> None:
    """Log any failure (never the token or message text) and tell the asker, unless an
    answer may already have reached them; keep serving. It cannot raise."""
    try:
        await _on_error(update, context)
    except Exception as third:  # noqa: BLE001  (the handler of last resort)
        log.warning("the error handler failed too: %s", type(third).__name__)


async def _on_error(update: object, context: BotContext) -> None:
    error = context.error
    if update is None and isinstance(error, TelegramError):
        log.warning("trouble talking to Telegram (will retry): %s", error)
        return
    where = f"update {update.update_id}" if isinstance(update, Update) else "the bot"
    if isinstance(error, Forbidden):  # the user blocked the bot, or it left the group
        chat = update.effective_chat if isinstance(update, Update) else None
        log.warning(
            "chat %s does not take my messages (%s); nothing sent", chat.id if chat else "?", error
        )
        return
    if isinstance(error, Undelivered):
        log.warning("the reply to %s could not be sent: %s", where, error)
    else:
        log.error("failed while handling %s", where, exc_info=error)
    if isinstance(update, Update):
        await _apologise(update, context)


async def _apologise(update: Update, context: BotContext) -> None:
    """Say sorry once: on the button when its press is not answered yet, else in the chat."""
    query = update.callback_query
    try:
        if query is not None and not _answered(query.id, context):
            try:
                await query.answer(SORRY)  # the press is answered once, with this
                return
            except TelegramError as error:  # too old by now: say it in the chat
                log.info("could not answer the button press: %s", error)
        if isinstance(update.effective_message, Message):
            await reply(
                update.effective_message,
                text_blocks(SORRY),
                window=APOLOGY_WINDOW,
                retry_unsure=False,
            )
    except (TelegramError, Undelivered) as second:
        log.warning("could not tell the user about the failure: %s", second)


def _answered(press: str, context: BotContext) -> bool:
    """Whether a handler already answered this button press (and forget it)."""
    state = state_of(context)
    if press not in state.answered_presses:
        return False
    state.answered_presses.discard(press)
    return True


class RedactingFormatter(logging.Formatter):
    """A log formatter that replaces secrets (the bot token) wherever they appear."""

    def __init__(self, secrets: Sequence[str], fmt: str | None = None) -> None:
        super().__init__(fmt)
        self.secrets = [s for s in secrets if s]

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        for secret in self.secrets:
            text = text.replace(secret, "<TELEGRAM_BOT_TOKEN>")
        return text


def configure_logging(token: str, level: int = logging.INFO) -> None:
    """Log to stderr with the token redacted; keep httpx from logging request URLs."""
    handler = logging.StreamHandler()
    handler.setFormatter(
        RedactingFormatter([token], "%(asctime)s %(levelname)s %(name)s: %(message)s")
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    logging.captureWarnings(True)
    for noisy in ("httpx", "httpcore"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    # PTB's request logger writes a response it cannot parse, chat ids and message text
    # included; the one warning of on_error says what failed.
    logging.getLogger("telegram.request").setLevel(logging.CRITICAL)


def run_bot(settings: Settings, store: core.Store | None = None) -> None:
    """Run the bot until stopped (Ctrl-C, SIGTERM): long polling, or with
    ``TELEGRAM_WEBHOOK_URL`` set, python-telegram-bot's webhook server on
    ``TELEGRAM_WEBHOOK_LISTEN``, which takes only updates that carry the secret token.

    Raises:
        BotConfigError: the token is missing, malformed or refused, the Bot API server
            cannot be reached at start, or the webhook settings are not usable.
    """
    token = bot_token(settings)
    configure_logging(token)
    webhook = settings.telegram.webhook_url
    listen = _listen_address(settings.telegram.webhook_listen) if webhook else None
    asyncio.run(_check_token(settings, token))
    application = build_application(settings, store)
    if webhook and listen:
        secret = webhook_secret(settings, token)
        log.info("taking updates at %s (listening on %s:%d)", webhook, *listen)
        application.run_webhook(
            listen=listen[0],
            port=listen[1],
            url_path=urlsplit(webhook).path.lstrip("/"),
            webhook_url=webhook,
            secret_token=secret,
            allowed_updates=Update.ALL_TYPES,
            bootstrap_retries=3,
            stop_signals=None,  # taken in _start
        )
        return
    # A short pause between polls keeps a server that does not hold long polls from
    # being asked in a tight loop; against Telegram it adds at most 0.1 s.
    application.run_polling(
        poll_interval=0.1,
        allowed_updates=Update.ALL_TYPES,
        bootstrap_retries=3,
        stop_signals=None,  # taken in _start
    )


def webhook_secret(settings: Settings, token: str) -> str:
    """The secret Telegram sends with every webhook update: TELEGRAM_WEBHOOK_SECRET, else
    one derived from the token, so that every replica of one bot expects the same."""
    given = settings.telegram.webhook_secret
    if given is not None:
        secret = given.get_secret_value()
        if not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", secret):
            raise BotConfigError(
                "TELEGRAM_WEBHOOK_SECRET may hold only letters, digits, _ and - (1-256)"
            )
        return secret
    return hashlib.sha256(f"quotebot-webhook:{token}".encode()).hexdigest()


def _listen_address(text: str) -> tuple[str, int]:
    host, _, port = text.strip().rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise BotConfigError(
            f"TELEGRAM_WEBHOOK_LISTEN (--listen) must be HOST:PORT, e.g. 0.0.0.0:8443, not {text!r}"
        )
    return host.strip("[]"), int(port)


async def _check_token(settings: Settings, token: str) -> None:
    """Ask the Bot API who we are, to turn a refused token, no connection or a server that
    is not a Bot API into one line (naming the URL, never the token)."""
    base_url, _ = api_urls(settings)
    url = base_url.replace("{token}", token) if "{token}" in base_url else base_url + token
    try:
        async with httpx.AsyncClient(timeout=30) as client:
            response = await client.post(f"{url}/getMe")
    except httpx.HTTPError as error:
        reason = (str(error) or type(error).__name__).replace(token, "<TELEGRAM_BOT_TOKEN>")
        raise BotConfigError(
            f"cannot reach the Telegram Bot API at {base_url} ({reason}); "
            "check the network or TELEGRAM_API_BASE_URL"
        ) from error
    try:
        reply = response.json()
        ok = reply["ok"]
    except (ValueError, TypeError, KeyError):
        kind = response.headers.get("content-type", "no content type").split(";")[0]
        raise BotConfigError(
            f"the server at {base_url} is not a Telegram Bot API server (getMe: HTTP "
            f"{response.status_code}, {kind}); check TELEGRAM_API_BASE_URL"
        ) from None
    if ok is True:
        return
    if response.status_code in (401, 404):  # how the Bot API answers a token it does not know
        raise BotConfigError(
            "Telegram refused TELEGRAM_BOT_TOKEN (Unauthorized); copy the token again from "
            "@BotFather"
        )
    description = str(reply.get("description", "")).replace(token, "<TELEGRAM_BOT_TOKEN>")
    raise BotConfigError(
        f"the Bot API at {base_url} refused getMe (HTTP {response.status_code}: {description})"
    )
