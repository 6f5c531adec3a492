"""Running the real bot Application with long polling in a thread, as `quotebot bot` does."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from telegram.ext import Application
from tests.auxil.fake_telegram import FakeTelegram

from quotebot.settings import Settings
from quotebot.telegram import build_application


def settings_for(fake: FakeTelegram, index_dir: Path, **values: str) -> Settings:
    """Settings that point the bot at the fake server (nothing read from .env)."""
    return Settings.read(
        None,
        TELEGRAM_BOT_TOKEN=fake.token,
        TELEGRAM_API_BASE_URL=fake.base_url,
        TELEGRAM_API_FILE_URL=fake.base_file_url,
        QUOTEBOT_INDEX_DIR=str(index_dir),
        **values,
    )


@contextmanager
def running_bot(settings: Settings, fake: FakeTelegram) -> Iterator[Application]:  # type: ignore[type-arg]
    """Build the Application from settings and run it with long polling until the block ends."""
    application = build_application(settings)
    loop = asyncio.new_event_loop()
    failure: list[BaseException] = []
    polls_before = len(fake.calls_to("setMyCommands"))

    def serve() -> None:
        asyncio.set_event_loop(loop)
        try:
            application.run_polling(stop_signals=None, timeout=1, close_loop=True)
        except BaseException as error:  # noqa: BLE001 (reported to the test below)
            failure.append(error)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    fake.wait_for("setMyCommands", timeout=60, count=polls_before + 1)
    try:
        yield application
    finally:
        if not loop.is_closed():
            loop.call_soon_threadsafe(application.stop_running)
        thread.join(timeout=30)
    assert not failure, failure
