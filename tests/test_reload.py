"""A running `quotebot chat` follows the index as other processes change it."""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import threading
from pathlib import Path

from tests.auxil.cli import ROOT, quotebot
from tests.auxil.corpus import FERRY_QUESTION, bridge, ferry, write_article
from tests.conftest import Store

from quotebot import indexing
from quotebot.core import Engine

BRIDGE_QUESTION = "When does the old bridge close?"


class Chat:
    """`quotebot chat` in a subprocess, asked one question at a time through a pipe."""

    def __init__(self, *where: str) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "quotebot", "chat", *where],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=ROOT,
            env={**os.environ, "COLUMNS": "200"},
        )
        self.lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.put(line)

    def ask(self, question: str) -> str:
        """The answer, up to the blank line that ends it."""
        assert self.process.stdin is not None
        self.process.stdin.write(question + "\n")
        self.process.stdin.flush()
        answer = []
        while (line := self.lines.get(timeout=120)).strip():
            answer.append(line)
        return "".join(answer)

    def close(self) -> str:
        assert self.process.stdin is not None and self.process.stderr is not None
        self.process.stdin.close()
        self.process.wait(timeout=60)
        return self.process.stderr.read()


def test_running_chat_picks_up_new_and_removed_articles(tmp_path: Path, store: Store) -> None:
    indexing.build(store.location, [ferry(tmp_path)])
    chat = Chat(*store.args)
    try:
        assert "noon" in chat.ask(FERRY_QUESTION)
        assert "I couldn't find that" in chat.ask(BRIDGE_QUESTION)

        added = quotebot("index", "add", bridge(tmp_path), *store.args)
        assert added.returncode == 0, added.stderr
        answer = chat.ask(BRIDGE_QUESTION)
        assert "May" in answer and "— Bridge works, paragraph 1" in answer

        removed = quotebot("index", "remove", "bridge", *store.args)
        assert removed.returncode == 0, removed.stderr
        assert "I couldn't find that" in chat.ask(BRIDGE_QUESTION)
        assert "noon" in chat.ask(FERRY_QUESTION)
    finally:
        errors = chat.close()
    assert chat.process.returncode == 0, errors


def test_run_keeps_articles_added_since_the_build(tmp_path: Path, store: Store) -> None:
    articles = tmp_path / "articles"
    ferry(articles)
    env = {"QUOTEBOT_ARTICLES_DIR": str(articles), **store.env}
    first = quotebot("run", stdin=FERRY_QUESTION + "\n", env=env, cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    assert "noon" in first.stdout and "(1 added)" in first.stderr
    indexing.add(store.location, [bridge(tmp_path / "elsewhere")])  # as the bot's /add would

    changed = (articles / "ferry.txt").read_text().replace("at noon", "at one o'clock")
    (articles / "ferry.txt").write_text(changed)
    again = quotebot("run", stdin=BRIDGE_QUESTION + "\n", env=env, cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert "(1 updated)" in again.stderr and "now holds 2 articles" in again.stderr
    assert "May" in again.stdout


def test_run_follows_the_folder_removing_articles_whose_file_is_gone(
    tmp_path: Path, store: Store
) -> None:
    """Relative to where `run` starts, as `make run` does; a JSON Lines file too."""
    articles = tmp_path / "articles"
    ferry(articles), bridge(articles)
    records = [
        {"id": "tides", "title": "Tides", "text": "Spring tides peak in March."},
        {"id": "gulls", "title": "Gulls", "text": "The gulls nest on the east cliff."},
    ]
    lines = articles / "more.jsonl"
    lines.write_text("\n".join(json.dumps(r) for r in records) + "\n")
    env = {"QUOTEBOT_ARTICLES_DIR": "articles", **store.env}
    first = quotebot("run", stdin="\n", env=env, cwd=tmp_path)
    assert first.returncode == 0 and "(4 added)" in first.stderr, first.stderr
    indexing.add(
        store.location, [write_article(tmp_path / "elsewhere", "pier", "Pier", "The pier reopens.")]
    )

    (articles / "bridge.txt").unlink()
    lines.write_text(json.dumps(records[0]) + "\n")  # gulls taken out of the file
    (articles / "broken.txt").write_bytes(b"\xff\xfe\x00")  # unreadable: skipped, not removed
    again = quotebot("run", stdin=BRIDGE_QUESTION + "\n", env=env, cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    said = again.stderr.splitlines()
    assert "removed bridge: its file is no longer in articles" in said
    assert "removed gulls: its file is no longer in articles" in said
    assert "(2 unchanged, 2 removed)" in again.stderr and "holds 3 articles" in again.stderr
    assert "I couldn't find that" in again.stdout
    ids = {a.id for a in store.location.open().articles()}
    assert ids == {"ferry", "tides", "pier"}  # what /add or index add brought stays

    third = quotebot("run", stdin="\n", env=env, cwd=tmp_path)
    assert "removed" not in third.stderr and "holds 3 articles" not in third.stderr


def test_a_broken_new_version_leaves_the_open_one_answering(tmp_path: Path) -> None:
    index_dir = tmp_path / "index"
    indexing.build(index_dir, [ferry(tmp_path)])
    engine = Engine(index_dir)
    assert "noon" in engine.answer(FERRY_QUESTION).quote
    broken = index_dir / "v-999999-broken"
    broken.mkdir()
    (broken / "manifest.json").write_text("{")
    (index_dir / "CURRENT").write_text(broken.name + "\n")  # as if by hand
    assert "noon" in engine.answer(FERRY_QUESTION).quote
