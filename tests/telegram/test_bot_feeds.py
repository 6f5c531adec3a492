"""Admins follow feeds from the chat (/feed add|list|remove), the bot polls them in the
background, and answers from what they brought; everyone else is refused as for /add. A bot
of its own (polling due feeds every second) against a fake Bot API of its own, and a real
feed server on 127.0.0.1."""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from telegram.ext import Application
from tests.auxil.bot_runner import running_bot, settings_for
from tests.auxil.fake_telegram import FakeTelegram
from tests.auxil.website import Website, article_html, rss, serve
from tests.telegram.conftest import ADMIN

from quotebot import storage

LIGHTHOUSE = article_html(
    "Tobermory lighthouse repainted",
    "The Tobermory lighthouse was repainted red by four volunteers in June.",
    "Reporting by the Harbour Gazette desk.",
)


@pytest.fixture(scope="module")
def site() -> Iterator[Website]:
    with serve() as website:
        yield website


@pytest.fixture(scope="module")
def telegram() -> Iterator[FakeTelegram]:
    with FakeTelegram() as server:
        yield server


@pytest.fixture(scope="module")
def index(sample_index: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("feed-bot") / "index"
    shutil.copytree(sample_index, target)
    return target


@pytest.fixture(scope="module")
def feed_bot(telegram: FakeTelegram, index: Path) -> Iterator[Application]:  # type: ignore[type-arg]
    settings = settings_for(
        telegram,
        index,
        ADMIN_USER_IDS=str(ADMIN),
        QUOTEBOT_ALLOW_PRIVATE_URLS="true",  # the feed server is on loopback
        QUOTEBOT_FEED_CHECK_SECONDS="1",
    )
    with running_bot(settings, telegram) as application:
        yield application


def said(telegram: FakeTelegram, user: dict[str, Any], text: str) -> str:
    message = telegram.message(telegram.private_chat(user), user, text)
    return str(telegram.replies_to(message)[0].result["text"])


def feeds_file(index: Path) -> str:
    """What the index's feeds.json says ("" while there is none)."""
    path = index / storage.FEEDS
    return path.read_text() if path.exists() else ""


def article_ids(index: Path) -> set[str]:
    return {article.id for article in storage.open_index(index).articles()}


@pytest.mark.usefixtures("feed_bot")
def test_an_admin_follows_a_feed_and_the_bot_answers_from_it(
    telegram: FakeTelegram, site: Website, index: Path
) -> None:
    admin = telegram.user(ADMIN, "Ada")
    site.page("/lighthouse", LIGHTHOUSE)
    url = site.page("/feed.xml", rss(("Lighthouse", site.url("/lighthouse"), "L", time.time())),
                    "application/rss+xml")  # fmt: skip
    before = article_ids(index)
    reply = said(telegram, admin, f"/feed add {url} --every 1h --keep 7d")
    assert reply.startswith(f"Following {url} (every 1 h, entries kept 7 days).")
    deadline = time.monotonic() + 90
    while article_ids(index) == before:  # the background poll, within a second or two
        assert time.monotonic() < deadline, site.requests
        time.sleep(0.5)
    answer = said(telegram, admin, "Who repainted the Tobermory lighthouse?")
    assert "four volunteers" in answer
    listed = said(telegram, admin, "/feed list")
    assert listed.startswith(f"{url}  every 1 h, keep 7 days  checked ")
    assert "1 article held" in listed and "next poll in " in listed
    assert site.requests.count("/lighthouse") == 1
    removed = said(telegram, admin, f"/feed remove {url} --drop-articles")
    assert removed == f"Stopped following {url}; removed 1 article."
    assert article_ids(index) == before
    assert said(telegram, admin, "/feed list") == "No feeds are followed."


@pytest.mark.usefixtures("feed_bot")
def test_feed_takes_web_addresses_and_durations_only(telegram: FakeTelegram, index: Path) -> None:
    admin = telegram.user(ADMIN, "Ada")
    assert said(telegram, admin, "/feed add /etc/passwd") == (
        "/feed add takes the http:// or https:// address of an RSS or Atom feed."
    )
    assert said(telegram, admin, "/feed add https://news.example/rss --every soon") == (
        "Nothing was changed: 'soon' is not a duration: write a number and a unit, e.g. 30m, "
        "2h or 30d (s, m, h, d or w)"
    )
    assert said(telegram, admin, "/feed").startswith("Usage: /feed add URL")
    assert "news.example" not in feeds_file(index)


@pytest.mark.usefixtures("feed_bot")
@pytest.mark.parametrize("command", ["/feed add https://news.example/rss", "/feed list",
                                     "/feed remove https://news.example/rss"])  # fmt: skip
def test_non_admins_are_refused_as_for_add(
    telegram: FakeTelegram, index: Path, uid: int, command: str
) -> None:
    feeds = feeds_file(index)
    assert said(telegram, telegram.user(uid), command) == "Only the bot's admins can follow feeds."
    assert feeds_file(index) == feeds
