"""quotebot on Telegram: a python-telegram-bot Application over the one answer core.

Private chats: every text message is a question. Groups: ``/ask``, ``/ask@thisbot``, mentions
of the bot and replies to it. Admins add articles by sending files, ``/add URL``, ``/remove ID``.
"""

from quotebot.telegram._application import (
    COMMANDS,
    BotConfigError,
    api_urls,
    bot_token,
    build_application,
    configure_logging,
    run_bot,
)

__all__ = [
    "COMMANDS",
    "BotConfigError",
    "api_urls",
    "bot_token",
    "build_application",
    "configure_logging",
    "run_bot",
]
