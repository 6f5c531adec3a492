"""The `quotebot` command as a user runs it: build, list, stats, ask, chat, and bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tests.auxil.cli import quotebot
from tests.conftest import ARTICLES, SEED_ARTICLE_ID

TITLE = "Russian forces positioning to take over U.S. Military base"


def test_build_list_and_stats(tmp_path: Path) -> None:
    index_dir = tmp_path / "index"
    built = quotebot("index", "build", ARTICLES, "--index-dir", index_dir)
    assert built.returncode == 0, built.stderr
    assert "indexed 1 articles, skipped 0 (1 added)" in built.stderr
    listed = quotebot("index", "list", "--index-dir", index_dir)
    assert listed.stdout.split("\t") == [SEED_ARTICLE_ID, TITLE, "7\n"]
    stats = quotebot("index", "stats", "--index-dir", index_dir)
    assert "all-MiniLM-L6-v2" in stats.stdout and "passages" in stats.stdout


def test_answer_threshold_setting_shows_every_short_answer_or_none(sample_index: Path) -> None:
    question = "Who is the Kremlin spokesperson?"
    every = quotebot("ask", question, "--index-dir", sample_index,
                     env={"QUOTEBOT_ANSWER_THRESHOLD": "0"})  # fmt: skip
    none = quotebot("ask", question, "--index-dir", sample_index,
                    env={"QUOTEBOT_ANSWER_THRESHOLD": "1"})  # fmt: skip
    assert every.returncode == none.returncode == 0, every.stderr + none.stderr
    assert every.stdout.splitlines()[0] == "Dmitry Peskov"  # the short answer, then the quote
    assert none.stdout.startswith("“Dmitry Peskov, a spokesperson for the Kremlin")
    wrong = quotebot("ask", question, "--index-dir", sample_index,
                     env={"QUOTEBOT_ANSWER_THRESHOLD": "2"})  # fmt: skip
    assert wrong.returncode != 0 and "QUOTEBOT_ANSWER_THRESHOLD" in wrong.stderr
    assert "Traceback" not in wrong.stderr


def test_ask_human_output(sample_index: Path) -> None:
    result = quotebot("ask", "How far is Agadez from Niamey?", "--index-dir", sample_index)
    assert result.returncode == 0, result.stderr
    assert "500 miles" in result.stdout
    assert f"— {TITLE}, paragraph 2" in result.stdout


def test_ask_stdin_batch_json_in_order(sample_index: Path) -> None:
    questions = [
        "Who is the Kremlin spokesperson?",
        "",
        "How far is Agadez from Niamey?",
        "Who wrote Pride and Prejudice?",
    ]
    result = quotebot(
        "ask",
        "-",
        "--json",
        "-k",
        "3",
        "--index-dir",
        sample_index,
        stdin="\n".join(questions) + "\n",
    )
    assert result.returncode == 0, result.stderr
    answers = [json.loads(line) for line in result.stdout.splitlines()]
    assert [a["question"] for a in answers] == [q for q in questions if q]
    assert "Peskov" in answers[0]["quote"] and "500 miles" in answers[1]["quote"]
    assert answers[2]["found"] is False and len(answers[2]["passages"]) == 3


def test_chat_answers_piped_lines(sample_index: Path) -> None:
    result = quotebot(
        "chat",
        "--index-dir",
        sample_index,
        stdin="How far is Agadez from Niamey?\nHow do I bake bread?\n",
    )
    assert result.returncode == 0, result.stderr
    assert "500 miles" in result.stdout
    assert "I couldn't find that in my articles." in result.stdout


def test_build_skips_broken_file_and_indexes_the_rest(tmp_path: Path) -> None:
    (tmp_path / "good.txt").write_text("Harbour news\n\nThe ferry to Oban leaves at noon.\n")
    (tmp_path / "broken.json").write_text("{not json")
    result = quotebot("index", "build", tmp_path, "--index-dir", tmp_path / "index")
    assert result.returncode == 0
    assert "broken.json" in result.stderr and "malformed JSON" in result.stderr
    assert "indexed 1 articles, skipped 1" in result.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["index", "build", "no/such/folder"], "no/such/folder: no such file or folder"),
        (["ask", "who?", "--index-dir", "no/such/index"], "no index in no/such/index"),
        (["index", "list", "--index-dir", "no/such/index"], "no index in no/such/index"),
        (["ask", "  "], "the question is empty"),
    ],
)
def test_bad_input_is_one_clear_line(tmp_path: Path, args: list[str], message: str) -> None:
    result = quotebot(*args, cwd=tmp_path)
    assert result.returncode != 0
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_unreadable_file_only(tmp_path: Path) -> None:
    (tmp_path / "empty.txt").write_text("")
    result = quotebot("index", "build", tmp_path / "empty.txt", "--index-dir", tmp_path / "i")
    assert result.returncode != 0
    assert "empty.txt: the file is empty" in result.stderr
    assert "nothing was indexed" in result.stderr and "Traceback" not in result.stderr


def test_every_bad_input_is_one_line_and_the_rest_is_indexed(tmp_path: Path) -> None:
    from tests.auxil.website import article_html, serve

    src = tmp_path / "src"
    src.mkdir()
    (src / "good.txt").write_text("Harbour news\n\nThe ferry to Oban leaves at noon.\n")
    (src / "notes.md").write_text("# Bridge works\n\nThe old bridge closes in May.\n")
    (src / "latin1.txt").write_bytes("Café news\n\nThe café opens at nine.\n".encode("cp1252"))
    (src / "empty.txt").write_text("  \n")
    (src / "binary.txt").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    (src / "huge.txt").write_text("Huge\n\n" + "words " * 2000)
    (src / "broken.jsonl").write_text(
        json.dumps({"id": "j1", "title": "Fine", "text": "Fine text."}) + "\n{oops\n"
    )
    (src / "untitled.json").write_text(json.dumps({"id": "u1", "text": "No title here."}))
    (src / "textless.json").write_text(json.dumps({"id": "t1", "title": "No text"}))
    (src / "dup.json").write_text(json.dumps({"id": "good", "title": "Same id", "text": "Again."}))
    (src / "photo.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    env = {"QUOTEBOT_MAX_FILE_MB": "0.005", "QUOTEBOT_ALLOW_PRIVATE_URLS": "true"}
    with serve() as site:
        page = site.page("/ferry", article_html("Ferry", "The ferry leaves at noon today."))
        dead, pdf = site.url("/gone"), site.page("/a.pdf", b"%PDF-1.4", "application/pdf")
        index_dir = tmp_path / "index"
        result = quotebot("index", "build", src, page, dead, pdf, "--index-dir", index_dir, env=env)
    assert result.returncode == 0, result.stderr
    lines = result.stderr.splitlines()
    for name, reason in [
        ("empty.txt", "the file is empty"),
        ("binary.txt", "binary file"),
        ("huge.txt", "too large"),
        ("broken.jsonl:2", "malformed JSON"),
        ("untitled.json", "has no 'title'"),
        ("textless.json", "has no 'paragraphs' or 'text'"),
        ("dup.json", "duplicate article id 'good'"),
        ("photo.png", "unsupported file type .png"),
        (dead, "HTTP 404"),
        (pdf, "not an HTML page"),
    ]:
        assert sum(name in line and reason in line for line in lines) == 1, (name, lines)
    assert "indexed 5 articles, skipped 10" in result.stderr
    assert "Traceback" not in result.stderr
    listed = quotebot("index", "list", "--index-dir", index_dir).stdout
    ids = sorted(line.split("\t")[0] for line in listed.splitlines())
    assert ids[1:] == ["good", "j1", "latin1", "notes"] and ids[0].startswith("127-0-0-1-ferry-")

    nothing = quotebot("index", "add", src / "empty.txt", dead, "--index-dir", index_dir, env=env)
    assert nothing.returncode != 0
    assert "indexed 0 articles, skipped 2" in nothing.stderr
    assert "nothing was indexed" in nothing.stderr and "Traceback" not in nothing.stderr
