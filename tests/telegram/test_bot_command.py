"""`quotebot run` / `quotebot bot` as a user starts them, in a subprocess, against the fake."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from subprocess import Popen
from typing import Any

import pytest
from tests.auxil.cli import ROOT, clean_environment, quotebot
from tests.auxil.fake_telegram import GARBLED, FakeTelegram
from tests.conftest import ARTICLES

from quotebot.core import Engine
from quotebot.settings import Settings
from quotebot.telegram import api_urls


def bot_env(fake: FakeTelegram, index_dir: Path, token: str | None = None) -> dict[str, str]:
    return {
        "TELEGRAM_BOT_TOKEN": fake.token if token is None else token,
        "TELEGRAM_API_BASE_URL": fake.base_url,
        "QUOTEBOT_INDEX_DIR": str(index_dir),
        "QUOTEBOT_ARTICLES_DIR": str(ARTICLES),
        "ADMIN_USER_IDS": "",
        "ALLOWED_CHAT_IDS": "",
    }


def test_run_with_a_token_starts_the_bot_and_answers(tmp_path: Path) -> None:
    with FakeTelegram() as fake:
        process = subprocess.Popen(
            [sys.executable, "-m", "quotebot", "run"],
            cwd=tmp_path,  # no .env here: everything comes from the environment
            env={**os.environ, **bot_env(fake, tmp_path / "index")},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            fake.wait_for("setMyCommands", timeout=240)
            user = fake.user(7)
            question = fake.message(fake.private_chat(user), user, "How far is Agadez from Niamey?")
            answer = fake.replies_to(question, timeout=120)[0]
            assert "500 miles" in answer.result["text"]
        finally:
            process.send_signal(signal.SIGTERM)
            _, stderr = process.communicate(timeout=60)
    assert process.returncode == 0, stderr
    assert "answering as @quote_test_bot" in stderr
    assert fake.token not in stderr and fake.token.split(":")[1] not in stderr
    assert "Traceback" not in stderr


def test_a_garbled_poll_is_one_warning_with_nothing_of_the_chat_in_the_log(
    tmp_path: Path, sample_index: Path
) -> None:
    cut = (
        '{"ok": true, "result": [{"update_id": 9, "message": {"chat": {"id": 4242}, "text": "my pin'
    )

    with FakeTelegram() as fake:
        fake.fail_next("getUpdates", GARBLED, cut)
        process = subprocess.Popen(
            [sys.executable, "-m", "quotebot", "bot"],
            cwd=tmp_path,
            env={**os.environ, **bot_env(fake, sample_index)},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            fake.wait_for("getUpdates", lambda c: c.status == GARBLED, timeout=120)
            user = fake.user(7)
            question = fake.message(fake.private_chat(user), user, "How far is Agadez from Niamey?")
            assert "500 miles" in fake.replies_to(question, timeout=120)[0].result["text"]
        finally:
            process.send_signal(signal.SIGINT)
            _, stderr = process.communicate(timeout=60)
    assert "my pin" not in stderr and "4242" not in stderr and "Agadez" not in stderr
    assert " ERROR " not in stderr and "Traceback" not in stderr, stderr
    assert len([line for line in stderr.splitlines() if " WARNING " in line]) == 1, stderr


@pytest.mark.parametrize(
    ("token", "message"),
    [
        ("", "TELEGRAM_BOT_TOKEN is not set"),
        ("not a token", "TELEGRAM_BOT_TOKEN is malformed"),
        ("987654321:AAWrongTokenWrongTokenWrongToken12", "Telegram refused TELEGRAM_BOT_TOKEN"),
    ],
)
def test_a_missing_malformed_or_refused_token_is_one_clear_line(
    tmp_path: Path, sample_index: Path, token: str, message: str
) -> None:
    with FakeTelegram() as fake:
        result = quotebot("bot", cwd=tmp_path, env=bot_env(fake, sample_index, token), timeout=120)
    assert result.returncode != 0
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:") and message in lines[0], lines
    if token:
        assert token not in result.stderr


@pytest.mark.parametrize(
    ("page", "came_back"),
    [
        (None, "HTTP 404, text/plain"),
        ("<html><body><h1>Welcome to nginx!</h1></body></html>", "HTTP 200, text/html"),
    ],
)
def test_a_server_that_is_not_a_bot_api_is_named_not_the_token(
    tmp_path: Path, sample_index: Path, page: str | None, came_back: str
) -> None:
    from tests.auxil.website import serve

    token = "123456789:AAThisTokenIsFineThisTokenIsFine1"
    with serve() as site:
        if page is not None:
            site.page(f"/bot{token}/getMe", page)
        env = {"TELEGRAM_BOT_TOKEN": token, "TELEGRAM_API_BASE_URL": site.url("")}
        env["QUOTEBOT_INDEX_DIR"] = str(sample_index)
        result = quotebot("bot", cwd=tmp_path, env=env, timeout=120)
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        f"error: the server at {site.url('/bot')} is not a Telegram Bot API server "
        f"(getMe: {came_back}); check TELEGRAM_API_BASE_URL"
    ]


def test_a_malformed_id_list_is_one_clear_line(tmp_path: Path, sample_index: Path) -> None:
    with FakeTelegram() as fake:
        env = {**bot_env(fake, sample_index), "ADMIN_USER_IDS": "12, bob"}
        result = quotebot("bot", cwd=tmp_path, env=env)
    assert result.returncode != 0
    assert result.stderr.splitlines() == [
        "error: ADMIN_USER_IDS is not valid: expected comma-separated numeric ids "
        "(e.g. 12345,67890), got '12, bob' (check the environment and .env)"
    ]


def test_the_bot_needs_an_index(tmp_path: Path) -> None:
    with FakeTelegram() as fake:
        result = quotebot("bot", cwd=ROOT, env=bot_env(fake, tmp_path / "none"))
    assert result.returncode != 0 and "no index in" in result.stderr


@pytest.mark.parametrize(
    ("base", "files", "expected"),
    [
        ("", "", ("https://api.telegram.org/bot", "https://api.telegram.org/file/bot")),
        (
            "http://127.0.0.1:8081",
            "",
            ("http://127.0.0.1:8081/bot", "http://127.0.0.1:8081/file/bot"),
        ),
        ("http://h:1/bot/", "", ("http://h:1/bot", "http://h:1/file/bot")),
        ("http://h/bot{token}", "", ("http://h/bot{token}", "http://h/file/bot{token}")),
        ("http://h:1/bot", "http://f:2", ("http://h:1/bot", "http://f:2/file/bot")),
    ],
)
def test_api_urls(base: str, files: str, expected: tuple[str, str]) -> None:
    settings = Settings.read(
        None,
        TELEGRAM_API_BASE_URL=base,
        TELEGRAM_API_FILE_URL=files,
    )
    assert api_urls(settings) == expected


def test_webhook_mode_takes_updates_that_carry_the_secret(
    tmp_path: Path, sample_index: Path
) -> None:
    import json
    import socket
    import urllib.error
    import urllib.request

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    hook = f"http://127.0.0.1:{port}/quotebot-hook"
    with FakeTelegram() as fake:
        env = {**bot_env(fake, sample_index), "TELEGRAM_WEBHOOK_SECRET": "replicas-share-this"}
        process = subprocess.Popen(
            [sys.executable, "-m", "quotebot", "bot", "--webhook-url", hook,
             "--listen", f"127.0.0.1:{port}"],
            cwd=tmp_path,
            env={**os.environ, **env},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )  # fmt: skip
        try:
            registered = fake.wait_for("setWebhook", timeout=240)[0]
            assert registered.params["url"] == hook
            assert registered.params["secret_token"] == "replicas-share-this"
            user = fake.user(7)
            chat = fake.private_chat(user)

            def post(text: str, secret: str | None) -> int:
                message = {"message_id": 900 + len(text), "date": int(time.time()),
                           "chat": chat, "from": user, "text": text}  # fmt: skip
                body = json.dumps({"update_id": 10_000 + len(text), "message": message})
                request = urllib.request.Request(hook, body.encode(), method="POST")
                request.add_header("Content-Type", "application/json")
                if secret is not None:
                    request.add_header("X-Telegram-Bot-Api-Secret-Token", secret)
                for _ in range(50):  # the server may still be starting
                    try:
                        with urllib.request.urlopen(request, timeout=10) as response:
                            return int(response.status)
                    except urllib.error.HTTPError as error:
                        return int(error.code)
                    except OSError:
                        time.sleep(0.2)
                raise AssertionError("the webhook server never answered")

            assert post("Who is the Kremlin spokesperson?", "a-guess") == 403
            assert post("How far is Agadez from Niamey?", "replicas-share-this") == 200
            answer = fake.wait_for(
                "sendMessage", lambda c: c.ok and c.params.get("chat_id") == user["id"]
            )[0]
            assert "500 miles" in answer.result["text"]
            fake.quiet(2)
            texts = [c.result["text"] for c in fake.sent(user["id"])]
            assert not any("Peskov" in text for text in texts)  # the update without the secret
        finally:
            process.send_signal(signal.SIGTERM)
            _, stderr = process.communicate(timeout=60)
    assert "Traceback" not in stderr and fake.token not in stderr


@contextmanager
def bot_process(fake: FakeTelegram, env: dict[str, str], cwd: Path) -> Iterator[Popen[str]]:
    """`quotebot bot` in a process of its own (no model loaded yet), until the block ends."""
    process = subprocess.Popen(
        [sys.executable, "-m", "quotebot", "bot"],
        cwd=cwd,
        env={**clean_environment(), **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        fake.wait_for("setMyCommands", timeout=240)
        yield process
    finally:
        process.send_signal(signal.SIGTERM)
        process.communicate(timeout=60)


def answer_seconds(fake: FakeTelegram, user: dict[str, Any], text: str) -> float:
    asked = time.monotonic()
    question = fake.message(fake.private_chat(user), user, text)
    return fake.replies_to(question, timeout=120)[0].at - asked


def test_the_models_are_loaded_before_the_first_update_is_taken(
    tmp_path: Path, sample_index: Path
) -> None:
    """The first question is answered about as fast as the next (it used to wait for the
    index to open and the embedder and the reader to load: 2.8-5.3 s as reported, 0.8 s more
    than the second here)."""
    with FakeTelegram() as fake, bot_process(fake, bot_env(fake, sample_index), tmp_path):
        user = fake.user(7)
        first = answer_seconds(fake, user, "How far is Agadez from Niamey?")
        second = answer_seconds(fake, user, "Who is the Kremlin spokesperson?")
    print(f"first answer {first:.2f} s, second {second:.2f} s")
    assert first < second + 0.4, (first, second)


def rss_mb(pid: int) -> float:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(status.split("VmRSS:")[1].split()[0]) / 1024


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads RSS from /proc")
def test_an_add_of_a_big_page_gives_its_memory_back(tmp_path: Path, sample_index: Path) -> None:
    """An admin uploads a 100,000-paragraph page (12 MB; 2,000 passages indexed): the bot's
    memory comes back near where it was before (it used to keep hundreds of MB)."""
    index = tmp_path / "index"
    shutil.copytree(sample_index, index)
    body = "\n".join(
        f"<p>Berth {n} of the Leith docks took {n % 97 + 2} trawlers and {n % 13} coasters "
        "in the week to Friday, the harbour master said.</p>"
        for n in range(100_000)
    )
    page = f"<html><head><title>Leith dock ledger</title></head><body><article>{body}</article>"
    with FakeTelegram() as fake:
        env = {**bot_env(fake, index), "ADMIN_USER_IDS": "42"}
        with bot_process(fake, env, tmp_path) as process:
            admin = fake.user(42)
            answer_seconds(fake, admin, "How far is Agadez from Niamey?")
            before = rss_mb(process.pid)
            upload = fake.document(fake.private_chat(admin), admin, "ledger.html", page.encode())
            reply = fake.replies_to(upload, timeout=600)[0].result["text"]
            assert "only its first 2000 passages were indexed" in reply
            answer_seconds(fake, admin, "How many trawlers did berth 7 of the Leith docks take?")
            after = rss_mb(process.pid)
    print(f"RSS before the upload {before:.0f} MB, after it {after:.0f} MB")
    assert after < before + 150, (before, after)


def _big_article(paragraphs: int) -> bytes:
    body = "\n\n".join(
        f"Pier {n} of the Leith docks took {n % 97 + 2} trawlers and {n % 13} coasters in the "
        f"week to Friday, said harbour master number {n}."
        for n in range(paragraphs)
    )
    return f"Leith dock ledger\n\n{body}\n".encode()


@pytest.mark.parametrize("signals", [1, 2], ids=["one SIGTERM", "SIGTERM every 0.2 s"])
def test_sigterm_during_an_upload_stops_within_seconds_and_writes_nothing(
    tmp_path: Path, sample_index: Path, signals: int
) -> None:
    index = tmp_path / "index"
    shutil.copytree(sample_index, index)
    before = sorted(p.name for p in index.iterdir())
    with FakeTelegram() as fake:
        env = {**bot_env(fake, index), "ADMIN_USER_IDS": "42"}
        with bot_process(fake, env, tmp_path) as process:
            admin = fake.user(42)
            chat = fake.private_chat(admin)
            upload = fake.document(chat, admin, "ledger.txt", _big_article(2000))
            fake.wait_for("sendChatAction", lambda c: c.params["chat_id"] == 42)
            time.sleep(3)  # reading done, embedding 2,000 passages under way (~40 s here)
            stopped = time.monotonic()
            process.send_signal(signal.SIGTERM)
            while signals > 1 and process.poll() is None:  # more, until it has exited
                time.sleep(0.2)
                process.send_signal(signal.SIGTERM)
            _, stderr = process.communicate(timeout=60)
            took = time.monotonic() - stopped
            said = fake.replies_to(upload, timeout=5)[0].result["text"]
    assert process.returncode == 0, stderr
    assert took < 10, f"stopped after {took:.1f} s"
    assert said.startswith("Stopped: the bot is shutting down, so nothing was indexed")
    assert "Traceback" not in stderr and "was destroyed but it is pending" not in stderr
    assert sorted(p.name for p in index.iterdir()) == before  # no new version, no leftovers
    assert "ledger" not in {a.id for a in Engine(index).index.articles()}
