"""The feeds an index follows, on every store (the ``store`` fixture: a folder and a real
PostgreSQL), and several pollers on one database: each feed, and each of its entries, is
fetched once. The bots are real `quotebot bot` processes against a fake Bot API; the feed
server is real, on 127.0.0.1, and counts the requests for each path."""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

from tests.auxil.cli import clean_environment
from tests.auxil.corpus import ferry
from tests.auxil.fake_telegram import FakeTelegram
from tests.auxil.website import article_html, rss, serve
from tests.conftest import Store

from quotebot import core, indexing
from quotebot.storage import Database

HOUR = 3600.0


def test_follow_unfollow_and_save_keep_what_was_said(store: Store) -> None:
    feeds = store.location.subscriptions()
    assert feeds.feeds() == [] and feeds.lease(time.time(), time.time() + 60) == []
    assert core.follow(feeds, "https://news.example/rss", every=HOUR, keep=7 * 86400) is None
    before = core.follow(feeds, "https://news.example/rss", every=2 * HOUR, keep=86400)
    assert before is not None and before.every == HOUR
    [leased] = feeds.lease(time.time(), time.time() + 900)
    assert (leased.every, leased.keep, leased.leased_until > time.time()) == (2 * HOUR, 86400, True)
    core.follow(feeds, "https://news.example/rss", every=3 * HOUR, keep=86400)  # while polled
    leased.failures, leased.error, leased.next_at = 2, "HTTP 500", time.time() + 50
    feeds.save(leased)
    [saved] = feeds.feeds()
    assert (saved.every, saved.failures, saved.error, saved.leased_until) == (
        3 * HOUR, 2, "HTTP 500", 0.0
    )  # fmt: skip
    assert feeds.lease(time.time(), time.time() + 900) == []  # not due for 50 s
    assert feeds.unfollow("https://news.example/rss") is not None
    feeds.save(leased)  # a poll that ends after the feed was unfollowed brings nothing back
    assert feeds.feeds() == [] and feeds.unfollow("https://news.example/rss") is None


def test_a_due_feed_is_leased_to_one_poller_of_many(store: Store) -> None:
    core.follow(store.location.subscriptions(), "https://news.example/rss", HOUR, 86400)
    pollers = [store.location.subscriptions() for _ in range(8)]  # a connection each
    start, got = threading.Barrier(len(pollers)), []

    def lease(subscriptions: core.Subscriptions) -> None:
        start.wait()
        now = time.time()
        got.extend(subscriptions.lease(now, now + 900))

    threads = [threading.Thread(target=lease, args=(p,)) for p in pollers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert [feed.url for feed in got] == ["https://news.example/rss"]


def test_two_bot_replicas_on_one_database_fetch_each_entry_once(
    database: str, tmp_path: Path
) -> None:
    indexing.build(Database(database), [ferry(tmp_path / "articles")])
    with serve() as site, FakeTelegram() as telegram:
        paths = ["/lighthouse", "/pier", "/regatta"]
        for number, path in enumerate(paths):
            site.page(path, article_html(f"Harbour story {number}", f"Story {path} in full."),
                      delay=1.0)  # a poll of 3 s: the other replica tries meanwhile  # fmt: skip
        now = time.time()
        url = site.page("/feed.xml", rss(*((p, site.url(p), p, now) for p in paths)),
                        "application/rss+xml")  # fmt: skip
        core.follow(Database(database).subscriptions(), url, every=HOUR, keep=30 * 86400)
        env = {
            **clean_environment(),
            "TELEGRAM_BOT_TOKEN": telegram.token,
            "TELEGRAM_API_BASE_URL": telegram.base_url,
            "QUOTEBOT_DATABASE_URL": database,
            "QUOTEBOT_ALLOW_PRIVATE_URLS": "true",
            "QUOTEBOT_FEED_CHECK_SECONDS": "0.5",
        }
        bots = [
            subprocess.Popen([sys.executable, "-m", "quotebot", "bot"], cwd=tmp_path, env=env,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            for _ in range(2)
        ]  # fmt: skip
        try:
            telegram.wait_for("setMyCommands", timeout=240, count=2)  # both are up
            deadline = time.monotonic() + 120
            while not Database(database).subscriptions().feeds()[0].entries:
                assert time.monotonic() < deadline, site.requests
                time.sleep(0.5)
            time.sleep(3)  # both replicas look for due feeds several times more
        finally:
            for bot in bots:
                bot.send_signal(signal.SIGTERM)
            logs = [bot.communicate(timeout=60)[1] for bot in bots]
    assert [bot.returncode for bot in bots] == [0, 0], logs
    assert not any("Traceback" in log for log in logs), logs
    assert Counter(site.requests) == {"/feed.xml": 1, "/lighthouse": 1, "/pier": 1, "/regatta": 1}
    said = [line for log in logs for line in log.splitlines() if f"feed {url}:" in line]
    assert len(said) == 1 and said[0].endswith(f"feed {url}: 3 new; 3 held"), said
    held = {a.title for a in Database(database).open().articles()}
    assert held == {"Ferry news", *paths}  # the feed's titles are the publisher's
