"""Fixtures for the bot's tests: a fake Bot API server and the real bot running against it."""

from __future__ import annotations

import itertools
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from telegram.ext import Application
from tests.auxil.bot_runner import running_bot, settings_for
from tests.auxil.fake_telegram import FakeTelegram

ADMIN = 42
QUESTIONS_PER_MINUTE = 3
_ids = itertools.count(1000)


@pytest.fixture(scope="session")
def fake() -> Iterator[FakeTelegram]:
    """The fake Telegram Bot API server on 127.0.0.1."""
    with FakeTelegram() as server:
        yield server


@pytest.fixture(scope="session")
def bot_index(sample_index: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the sample index that the bot's admins may change."""
    target = tmp_path_factory.mktemp("bot") / "index"
    shutil.copytree(sample_index, target)
    return target


@pytest.fixture(scope="session")
def bot(fake: FakeTelegram, bot_index: Path) -> Iterator[Application]:  # type: ignore[type-arg]
    """The real bot, long polling the fake server, with one admin and a small question limit."""
    settings = settings_for(
        fake,
        bot_index,
        ADMIN_USER_IDS=str(ADMIN),
        QUOTEBOT_QUESTIONS_PER_MINUTE=str(QUESTIONS_PER_MINUTE),
    )
    with running_bot(settings, fake) as application:
        yield application


@pytest.fixture
def uid() -> int:
    """A fresh user id (and so a fresh private chat and question allowance) for each test."""
    return next(_ids)


@pytest.fixture
def group_id() -> int:
    """A fresh supergroup id for each test."""
    return -1_000_000_000_000 - next(_ids)
