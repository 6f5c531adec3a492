"""A question that cannot be answered now (far too long, the database down) is one line, and
the questions after it are answered: `ask -` and `chat` read on."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest
from tests.auxil.cli import clean_environment, quotebot
from tests.auxil.corpus import FERRY_QUESTION, ferry

from quotebot import indexing
from quotebot.core import MAX_QUESTION_CHARS
from quotebot.storage import postgres

GIANT = "why " * 250_000  # a 1,000,000-character line


@pytest.fixture(scope="module")
def ferry_index(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("ferry")
    indexing.build(folder / "index", [ferry(folder / "src")])
    return folder / "index"


@pytest.mark.parametrize("command", [["ask", "--json", "-"], ["chat", "--json"]])
def test_a_giant_question_is_one_line_and_the_next_is_answered(
    ferry_index: Path, command: list[str]
) -> None:
    stdin = f"{FERRY_QUESTION}\n{GIANT}\n{FERRY_QUESTION}\n"
    done = quotebot(*command, "--index-dir", ferry_index, stdin=stdin)
    answers = [json.loads(line) for line in done.stdout.splitlines()]
    assert [a["answer"] for a in answers] == ["noon", "noon"]
    said = done.stderr.strip().splitlines()
    assert said == [
        f"error: the question is too long (more than {MAX_QUESTION_CHARS:,} characters): "
        "ask it in a sentence or two"
    ]
    assert "Traceback" not in done.stderr
    assert done.returncode == (1 if command[0] == "ask" else 0)


def test_a_giant_question_without_a_line_end(ferry_index: Path) -> None:
    done = quotebot("ask", "-", "--index-dir", ferry_index, stdin=GIANT)
    assert done.returncode == 1 and done.stdout == ""
    assert done.stderr.count("\n") == 1 and "too long" in done.stderr


def test_ask_and_chat_answer_again_once_the_database_is_back(tmp_path: Path) -> None:
    """A server of its own, stopped and started again under a running `ask -` and `chat`."""
    pgserver = pytest.importorskip("pgserver")
    folder = tmp_path / "pg"
    server = pgserver.get_server(folder, cleanup_mode="stop")
    url = server.get_uri()
    try:
        indexing.build(postgres.Database(url), [ferry(tmp_path / "a")])
        sessions = [
            subprocess.Popen(
                [sys.executable, "-m", "quotebot", *command, "--database-url", url],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                cwd=tmp_path,
                env=clean_environment(),
            )
            for command in (["ask", "--json", "-"], ["chat", "--json"])
        ]

        def asked(session: subprocess.Popen[str]) -> dict[str, object]:
            assert session.stdin is not None and session.stdout is not None
            session.stdin.write(FERRY_QUESTION + "\n")
            session.stdin.flush()
            return dict(json.loads(session.stdout.readline()))

        for session in sessions:
            assert asked(session)["answer"] == "noon"
        server.cleanup()  # the database goes away
        for session in sessions:
            assert session.stdin is not None and session.stderr is not None
            session.stdin.write(FERRY_QUESTION + "\n")
            session.stdin.flush()
            line = session.stderr.readline()
            assert line.startswith("error: ") and "database" in line, line
        server = pgserver.get_server(folder, cleanup_mode="stop")  # and comes back
        time.sleep(0.5)
        for session in sessions:
            assert asked(session)["answer"] == "noon"
        for session in sessions:
            _, rest = session.communicate("", timeout=60)
            assert "Traceback" not in rest
        assert [s.returncode for s in sessions] == [1, 0]  # ask says that one went unanswered
    finally:
        server.cleanup()
