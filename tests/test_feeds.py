"""Following feeds: a real feed server on 127.0.0.1 that the tests change between polls, the
real index and the real model. Poll times are given (``now``), so that an hour or eleven days
pass between polls without waiting for them; the server, the fetches and the index are real."""

from __future__ import annotations

import json
import queue
import re
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.auxil.cli import clean_environment, quotebot
from tests.auxil.website import Website, article_html, rss, serve

from quotebot import core, storage
from quotebot.indexing import IndexOptions
from quotebot.sources import SourceOptions

HOUR, DAY = 3600.0, 86400.0
LOCAL = SourceOptions(allow_private_urls=True, fetch_timeout=3, feed_timeout=20)
OPTIONS = core.PollOptions(IndexOptions(sources=LOCAL))
FERRY = ("Oban ferry moves", "The new ferry to Oban will leave at noon from the north pier.")
FERRY_LATER = (
    "Oban ferry moves",
    "The new ferry to Oban will leave at half past two from the south pier.",
)
BRIDGE = ("Old bridge to close", "The old bridge over the river will close for six weeks.")
LIGHTHOUSE = (
    "Tobermory lighthouse repainted",
    "The Tobermory lighthouse was repainted red by four volunteers in June.",
)
GULLS = "Gulls return to the pier\n\nThe gulls came back to the Oban pier in March.\n"


@pytest.fixture
def site() -> Iterator[Website]:
    with serve() as website:
        yield website


def story(site: Website, path: str, title: str, text: str) -> str:
    return site.page(path, article_html(title, text, "Reporting by the Harbour Gazette desk."))


def publish(site: Website, version: str, *items: tuple[str, str, float]) -> str:
    """The feed at /feed.xml: (path, description, date) items whose pages the site serves."""
    entries = [(path.strip("/"), site.url(path), said, date) for path, said, date in items]
    stamp = time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(1_700_000_000 + len(version)))
    return site.page(
        "/feed.xml",
        rss(*entries),
        "application/rss+xml",
        etag=f'"{version}"',
        last_modified=stamp,
    )


@pytest.fixture
def followed(site: Website, tmp_path: Path) -> tuple[core.Store, storage.Subscriptions, str]:
    """An index holding one article added by hand, following the site's feed (hourly, entries
    kept 30 days)."""
    (tmp_path / "gulls.txt").write_text(GULLS)
    store = core.location(tmp_path / "index")
    core.add(store, [tmp_path / "gulls.txt"])
    subscriptions = store.subscriptions()
    url = site.url("/feed.xml")
    assert core.follow(subscriptions, url, every=HOUR, keep=30 * DAY) is None
    return store, subscriptions, url


def ids(store: core.Store) -> set[str]:
    return {article.id for article in store.open().articles()}


def asked(store: core.Store, question: str) -> str:
    answer = core.Engine(store).answer(question)
    assert answer.found, question
    return answer.quote


def test_new_changed_not_modified_and_expired_entries(
    site: Website, followed: tuple[core.Store, storage.Subscriptions, str]
) -> None:
    store, subscriptions, url = followed
    t0 = time.time()
    story(site, "/ferry", *FERRY)
    story(site, "/bridge", *BRIDGE)
    publish(site, "1", ("/ferry", "Ferry", t0 - DAY), ("/bridge", "Bridge", t0 - 20 * DAY))

    [report] = core.poll(store, subscriptions, OPTIONS, now=t0)
    assert report.line() == f"feed {url}: 2 new; 2 held"
    assert "noon" in asked(store, "When will the new ferry to Oban leave?")
    assert core.poll(store, subscriptions, OPTIONS, now=t0 + 60) == []  # not due yet

    seen, version = len(site.requests), store.live_version()
    [report] = core.poll(store, subscriptions, OPTIONS, now=t0 + HOUR)
    assert report.line() == f"feed {url}: not modified; 2 held"
    assert site.requests[seen:] == ["/feed.xml"]  # a 304 costs one request and nothing else
    path, headers = site.headers[-1]
    assert headers["If-None-Match"] == '"1"' and headers["If-Modified-Since"].endswith("GMT")
    assert store.live_version() == version  # nothing re-indexed

    story(site, "/ferry", *FERRY_LATER)
    story(site, "/lighthouse", *LIGHTHOUSE)
    publish(site, "22", ("/ferry", "Ferry, later", t0 - DAY), ("/bridge", "Bridge", t0 - 20 * DAY),
            ("/lighthouse", "Lighthouse", t0))  # fmt: skip
    seen = len(site.requests)
    [report] = core.poll(store, subscriptions, OPTIONS, now=t0 + 2 * HOUR)
    assert report.line() == f"feed {url}: 1 new, 1 updated; 3 held"
    assert sorted(site.requests[seen:]) == ["/feed.xml", "/ferry", "/lighthouse"]  # not /bridge
    assert "volunteers" in asked(store, "Who repainted the Tobermory lighthouse?")
    assert "half past two" in asked(store, "When will the new ferry to Oban leave?")

    [report] = core.poll(store, subscriptions, OPTIONS, now=t0 + 11 * DAY)  # the bridge: 31 days
    assert report.line() == f"feed {url}: not modified, 1 expired; 2 held"
    held = ids(store)
    assert "gulls" in held and not any("bridge" in i for i in held)
    assert any("lighthouse" in i for i in held) and len(held) == 3
    assert "March" in asked(store, "When did the gulls come back to the Oban pier?")


def test_a_failing_feed_is_backed_off_and_retry_after_is_honoured(
    site: Website, followed: tuple[core.Store, storage.Subscriptions, str]
) -> None:
    store, subscriptions, url = followed
    t0 = time.time()
    site.page("/feed.xml", "down", "text/plain", status=500)
    version = store.live_version()
    lines = []
    for now in (t0, t0 + HOUR, t0 + 3 * HOUR):  # due again after 1 h, then after 2 h
        [report] = core.poll(store, subscriptions, OPTIONS, now=now)
        lines.append(report.line())
    error = f"feed {url}: the server answered HTTP 500 Internal Server Error"
    assert lines == [f"{error}; next try in {wait}" for wait in ("1 h", "2 h", "4 h")]
    requests = len(site.requests)
    assert core.poll(store, subscriptions, OPTIONS, now=t0 + 6 * HOUR) == []  # backed off
    assert len(site.requests) == requests
    [feed] = subscriptions.feeds()
    assert feed.failures == 3 and feed.error is not None and "HTTP 500" in feed.error

    site.page("/feed.xml", "busy", "text/plain", status=503, headers={"Retry-After": "36000"})
    [report] = core.poll(store, subscriptions, OPTIONS, now=t0 + 7 * HOUR)
    assert report.line().endswith("HTTP 503 Service Unavailable; next try in 10 h")  # not 8 h
    assert core.poll(store, subscriptions, OPTIONS, now=t0 + 16 * HOUR) == []
    assert store.live_version() == version  # nothing indexed, nothing removed

    story(site, "/lighthouse", *LIGHTHOUSE)
    publish(site, "1", ("/lighthouse", "Lighthouse", t0))
    [report] = core.poll(store, subscriptions, OPTIONS, now=t0 + 17 * HOUR)
    assert report.line() == f"feed {url}: 1 new; 1 held"
    [feed] = subscriptions.feeds()
    assert (feed.failures, feed.error) == (0, None)


def test_a_busy_index_postpones_the_entries_without_counting_a_failure(
    site: Website, followed: tuple[core.Store, storage.Subscriptions, str], tmp_path: Path
) -> None:
    """Another process changing the index (an ``index add``, a second poller on the folder)
    does not back the feed off for its interval: it is checked again in a minute, and the
    entries it found then are not lost to a 304."""
    store, subscriptions, url = followed
    t0 = time.time()
    story(site, "/ferry", *FERRY)
    publish(site, "1", ("/ferry", "Ferry", t0))
    holder = subprocess.Popen(  # holds the index's writer lock until its stdin closes
        [sys.executable, "-c", "import fcntl, sys\n"
         "f = open(sys.argv[1], 'a+'); fcntl.flock(f, fcntl.LOCK_EX)\n"
         "f.write('quotebot (pid 4242)'); f.flush(); print('held', flush=True); sys.stdin.read()",
         str(tmp_path / "index" / "LOCK")],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "held\n"
        [report] = core.poll(store, subscriptions, OPTIONS, now=t0)
    finally:
        holder.communicate("")
    assert report.line().startswith(f"feed {url}: not indexed: the index in ")
    assert "being changed by quotebot (pid 4242)" in report.line()
    assert report.line().endswith("; next try in 1 min")
    [feed] = subscriptions.feeds()
    assert (feed.failures, feed.error, feed.etag, feed.entries) == (0, None, None, {})

    [report] = core.poll(store, subscriptions, OPTIONS, now=t0 + 60)
    assert report.line() == f"feed {url}: 1 new; 1 held"
    assert "noon" in asked(store, "When will the new ferry to Oban leave?")


def test_a_slow_feed_is_cut_off_by_the_time_limit(
    site: Website, followed: tuple[core.Store, storage.Subscriptions, str]
) -> None:
    store, subscriptions, url = followed
    story(site, "/ferry", *FERRY)
    site.page("/feed.xml", rss(("F", site.url("/ferry"), "F", time.time())),
              "application/rss+xml", trickle=0.5)  # fmt: skip
    options = core.PollOptions(
        IndexOptions(sources=SourceOptions(allow_private_urls=True, fetch_timeout=2))
    )
    version = store.live_version()
    started = time.monotonic()
    [report] = core.poll(store, subscriptions, options)
    assert time.monotonic() - started < 10
    assert report.line() == (
        f"feed {url}: too slow: not complete within 2 s (QUOTEBOT_FETCH_TIMEOUT); next try in 1 h"
    )
    assert store.live_version() == version and "/ferry" not in site.requests


def test_every_fetch_limit_holds_for_the_feed_and_each_entry(
    site: Website, followed: tuple[core.Store, storage.Subscriptions, str]
) -> None:
    store, subscriptions, url = followed
    now = time.time()
    story(site, "/ferry", *FERRY)
    site.page("/huge", article_html("Huge", "word " * 40_000))
    story(site, "/bridge", *BRIDGE)
    publish(site, "1", ("/ferry", "F", now), ("/huge", "H", now), ("/bridge", "B", now))
    limited = SourceOptions(allow_private_urls=True, max_download_bytes=50_000, max_feed_entries=2)
    [report] = core.poll(store, subscriptions, core.PollOptions(IndexOptions(sources=limited)))
    line = report.line()
    assert line.startswith(f"feed {url}: 1 new; 1 held; 2 skipped: ")
    assert "only the first 2 of 3 feed entries were read (QUOTEBOT_MAX_FEED_ENTRIES)" in line
    assert f"{site.url('/huge')}: larger than the limit" in line and "/bridge" not in site.requests

    private = core.PollOptions(IndexOptions(sources=SourceOptions(fetch_timeout=3)))
    [report] = core.poll(store, subscriptions, private, now=time.time() + 2 * HOUR)
    assert "refused: it points to 127.0.0.1, a loopback address" in report.line()


def test_the_command_line_follows_polls_lists_and_removes(site: Website, tmp_path: Path) -> None:
    index = tmp_path / "index"
    env = {"QUOTEBOT_ALLOW_PRIVATE_URLS": "true", "QUOTEBOT_FETCH_TIMEOUT": "3"}
    where = ("--index-dir", index)
    (tmp_path / "gulls.txt").write_text(GULLS)
    assert quotebot("index", "add", tmp_path / "gulls.txt", *where).returncode == 0
    story(site, "/lighthouse", *LIGHTHOUSE)
    url = publish(site, "1", ("/lighthouse", "Lighthouse", time.time()))

    bad = quotebot("feed", "add", url, "--every", "3x", *where)
    assert bad.returncode == 1
    assert bad.stderr.strip() == (
        "error: --every: '3x' is not a duration: write a number and a unit, e.g. 30m, 2h or "
        "30d (s, m, h, d or w)"
    )
    added = quotebot("feed", "add", url, "--every", "10m", "--keep", "7d", *where)
    assert added.returncode == 0, added.stderr
    assert added.stdout.startswith(f"following {url} (every 10 min, keeping entries 7 days)")

    polled = quotebot("feed", "poll", *where, env=env)
    assert polled.returncode == 0, polled.stderr
    assert polled.stdout == f"feed {url}: 1 new; 1 held\n"
    answer = quotebot("ask", "--json", "Who repainted the Tobermory lighthouse?", *where)
    assert json.loads(answer.stdout)["found"] and "volunteers" in answer.stdout
    again = quotebot("feed", "poll", *where, env=env)
    assert (again.returncode, again.stdout) == (0, "")  # not due for 10 minutes
    said = r"no feed is due; the next in (10|9\.\d) min \(1 feed followed\)"
    assert re.search(said, again.stderr)

    [listed] = quotebot("feed", "list", *where).stdout.splitlines()
    assert listed.startswith(f"{url}  every 10 min, keep 7 days  checked ")
    assert "1 article held" in listed and re.search(r"next poll in (10|9\.\d) min", listed)
    [shown] = map(json.loads, quotebot("feed", "list", "--json", *where).stdout.splitlines())
    assert shown["url"] == url and shown["articles_held"] == 1 and shown["last_error"] is None

    removed = quotebot("feed", "remove", url, "--drop-articles", *where)
    assert removed.stdout.strip() == f"stopped following {url}; removed 1 article it brought"
    listed_ids = quotebot("index", "list", *where).stdout
    assert "gulls" in listed_ids and "lighthouse" not in listed_ids
    gone = quotebot("feed", "remove", url, *where)
    assert gone.returncode == 1 and "is not followed" in gone.stderr


def test_a_failing_feed_says_so_in_feed_list(site: Website, tmp_path: Path) -> None:
    where = ("--index-dir", tmp_path / "index")
    url = site.page("/feed.xml", "down", "text/plain", status=500)
    assert quotebot("feed", "add", url, "--every", "20m", *where).returncode == 0
    polled = quotebot("feed", "poll", *where, env={"QUOTEBOT_ALLOW_PRIVATE_URLS": "true"})
    assert polled.returncode == 1
    assert polled.stdout == (
        f"feed {url}: the server answered HTTP 500 Internal Server Error; next try in 20 min\n"
    )
    [listed] = quotebot("feed", "list", *where).stdout.splitlines()
    assert (
        "error: the server answered HTTP 500 Internal Server Error (1 failure in a row)" in listed
    )
    assert "next poll in 20 min" in listed or "next poll in 19 min" in listed
    [shown] = map(json.loads, quotebot("feed", "list", "--json", *where).stdout.splitlines())
    assert shown["failures"] == 1 and "HTTP 500" in shown["last_error"]


def test_durations_are_read_and_said() -> None:
    assert [core.parse_duration(t) for t in ("30m", "2h", "30d", "1.5h", "45s", "1w")] == [
        1800, 7200, 30 * DAY, 5400, 45, 7 * DAY
    ]  # fmt: skip
    for bad in ("", "30", "m", "3x", "-5m", "0m"):
        with pytest.raises(ValueError, match="is not a duration"):
            core.parse_duration(bad)
    said = [core.say_duration(s) for s in (20, 90, 1200, 7200, 5400, DAY, 30 * DAY)]
    assert said == ["20 s", "1.5 min", "20 min", "2 h", "1.5 h", "1 day", "30 days"]


def test_quotebot_run_polls_in_the_background_and_the_chat_answers_from_it(
    site: Website, tmp_path: Path
) -> None:
    (tmp_path / "articles").mkdir()
    (tmp_path / "articles" / "gulls.txt").write_text(GULLS)
    story(site, "/lighthouse", *LIGHTHOUSE)
    url = publish(site, "1", ("/lighthouse", "Lighthouse", time.time()))
    env = {"QUOTEBOT_ALLOW_PRIVATE_URLS": "true", "QUOTEBOT_FEED_CHECK_SECONDS": "1"}
    assert quotebot("feed", "add", url, cwd=tmp_path).returncode == 0
    running = subprocess.Popen(
        [sys.executable, "-m", "quotebot", "run"],
        cwd=tmp_path,
        env={**clean_environment(), **env},
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert running.stdin and running.stdout and running.stderr
    stderr, lines = running.stderr, queue.Queue[str]()
    threading.Thread(target=lambda: [lines.put(line) for line in stderr], daemon=True).start()
    try:
        said = []
        while not said or not said[-1].startswith("feed "):
            said.append(lines.get(timeout=120))
        assert said[-1] == f"feed {url}: 1 new; 1 held\n", said
        running.stdin.write("Who repainted the Tobermory lighthouse?\n")
        running.stdin.close()
        answered = running.stdout.read()  # to its end: the chat ends with its input
        assert running.wait(timeout=60) == 0
    finally:
        running.kill()
    assert "four volunteers" in answered


def test_a_bad_duration_in_the_settings_is_one_line(tmp_path: Path) -> None:
    listed = quotebot("feed", "list", "--index-dir", tmp_path, env={"QUOTEBOT_FEED_KEEP": "soon"})
    assert listed.returncode == 1
    assert listed.stderr.strip() == (
        "error: QUOTEBOT_FEED_KEEP is not valid: 'soon' is not a duration: write a number and a "
        "unit, e.g. 30m, 2h or 30d (s, m, h, d or w) (check the environment and .env)"
    )
