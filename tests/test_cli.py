"""The `quotebot` command as a user runs it: build, list, stats, ask, chat, and bad input."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from tests.auxil.cli import quotebot
from tests.conftest import ARTICLES, SEED_ARTICLE_ID

TITLE = "Russian forces positioning to take over U.S. Military base"


def test_build_list_and_stats(tmp_path: Path) -> None:
    index_dir = tmp_path / "index"
    built = quotebot("index", "build", ARTICLES, "--index-dir", index_dir)
    assert built.returncode == 0, built.stderr
    assert "indexed 1 article, skipped 0 (1 added)" in built.stderr
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


def test_piped_answers_are_set_apart_and_k_lists_passages(sample_index: Path) -> None:
    questions = "How far is Agadez from Niamey?\nWho is the Kremlin spokesperson?\n"
    result = quotebot("ask", "-", "--index-dir", sample_index, stdin=questions)
    answers = result.stdout.split("\n\n")
    assert len(answers) == 2 and "500 miles" in answers[0] and "Peskov" in answers[1]
    assert "Passages:" not in result.stdout
    listed = quotebot(
        "ask", "-k", "3", "Who is the Kremlin spokesperson?", "--index-dir", sample_index
    )
    lines = listed.stdout.splitlines()
    assert "Passages:" in lines
    numbered = [line for line in lines if line[:3] in ("1. ", "2. ", "3. ", "4. ")]
    assert [line[:3] for line in numbered] == ["1. ", "2. ", "3. "]
    assert all(TITLE in line and "score" in line for line in numbered)


def test_version_and_help_as_a_user_reads_them() -> None:
    from importlib.metadata import version

    assert quotebot("--version").stdout.strip() == f"quotebot {version('quotebot')}"
    for command in [["ask"], ["chat"], ["index", "build"], ["index", "add"], ["eval"]]:
        shown = quotebot(*command, "--help").stdout
        assert "Example" in shown and re.search(r"^ {4,}.*\bquotebot ", shown, re.M), command
        assert shown.startswith(f"Usage: quotebot {' '.join(command)} "), command
        assert "<bool>" not in shown and "--help" in shown, command
    run = quotebot("run", "--help").stdout
    paragraphs = run.split("Options:")[0].split("\n\n")[1:]
    assert all(p.strip().endswith(".") for p in paragraphs if p.strip()), paragraphs


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
    assert "indexed 1 article, skipped 1" in result.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["index", "build", "no/such/folder"], "no/such/folder: no such file or folder"),
        (
            ["ask", "who?", "--index-dir", "no/such/index"],
            "/no/such/index; build one with `quotebot index build`",
        ),
        (
            ["index", "list", "--index-dir", "no/such/index"],
            "/no/such/index; build one with `quotebot index build`",
        ),
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
    lines = result.stderr.splitlines()
    assert lines[0].endswith("empty.txt: the file is empty")
    assert lines[1].startswith("indexed 0 articles, skipped 1;") and len(lines) == 2


def test_a_symlink_loop_given_directly_says_so(tmp_path: Path) -> None:
    (tmp_path / "a.txt").symlink_to(tmp_path / "b.txt")
    (tmp_path / "b.txt").symlink_to(tmp_path / "a.txt")
    result = quotebot("index", "add", tmp_path / "a.txt", "--index-dir", tmp_path / "i")
    assert result.returncode == 1
    assert (
        result.stderr.splitlines()[0] == f"skipped {tmp_path / 'a.txt'}: a symbolic link that loops"
    )


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
    (src / "loop.txt").symlink_to(src / "loop.txt")
    (src / "moved.txt").symlink_to(src / "gone.txt")
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
        ("loop.txt", "a symbolic link that loops"),
        ("moved.txt", "a symbolic link to"),
    ]:
        assert sum(name in line and reason in line for line in lines) == 1, (name, lines)
    assert "indexed 5 articles, skipped 12" in result.stderr
    assert "Traceback" not in result.stderr
    listed = quotebot("index", "list", "--index-dir", index_dir).stdout
    ids = sorted(line.split("\t")[0] for line in listed.splitlines())
    assert ids[1:] == ["good", "j1", "latin1", "notes"] and ids[0].startswith("127-0-0-1-ferry-")

    nothing = quotebot("index", "add", src / "empty.txt", dead, "--index-dir", index_dir, env=env)
    assert nothing.returncode != 0
    assert "indexed 0 articles, skipped 2" in nothing.stderr
    assert f"nothing changed in {index_dir} (5 articles" in nothing.stderr
    assert "are read" not in nothing.stderr and "Traceback" not in nothing.stderr


def test_chat_at_a_terminal_edits_lines_keeps_history_and_wraps_whole_words(
    sample_index: Path, tmp_path: Path
) -> None:
    from tests.auxil.terminal import Terminal

    question = "How far is Agadez from Niamey?"
    env = {"QUOTEBOT_CACHE_DIR": str(tmp_path / "cache"), "HOME": str(tmp_path)}
    chat = Terminal("chat", "--index-dir", sample_index, cwd=tmp_path, env=env, columns=50)
    for number, keys in enumerate(["help", question, "\x1b[A", "quit"], start=1):
        chat.wait_for("\n? ", count=number)  # the prompt, then the keys (up: the question again)
        chat.type(keys + "\r")
    assert chat.finish() == 0
    screen = chat.screen
    assert "^[[A" not in screen and "Traceback" not in screen
    assert "quit or exit" in screen and screen.count("paragraph 2") == 2
    assert "I couldn't find that in my articles." not in screen  # help, quit: no questions
    lines = screen.split("\n")
    start = next(i for i, line in enumerate(lines) if line.startswith("“"))
    quoted = lines[start : next(i for i in range(start, len(lines)) if lines[i].startswith("— "))]
    assert len(quoted) > 3 and all(len(line) <= 50 for line in quoted)
    text = " ".join(line.strip() for line in quoted).strip("“”")
    paragraphs = (ARTICLES / f"{SEED_ARTICLE_ID}.txt").read_text().split("\n\n")
    assert text in paragraphs[2]  # word for word: no word cut in two at a line's end
    assert question in (tmp_path / "cache" / "chat_history").read_text()


@pytest.mark.parametrize("delay", [0.05, 0.3, 0.8, 1.3, 2.0, 6.0])
def test_ctrl_c_at_any_moment_exits_quietly(
    sample_index: Path, tmp_path: Path, delay: float
) -> None:
    """From starting up (imports, loading the model) to answering: no traceback."""
    import signal
    import subprocess
    import sys
    import time

    from tests.auxil.cli import clean_environment

    process = subprocess.Popen(
        [sys.executable, "-m", "quotebot", "chat", "--index-dir", str(sample_index)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=tmp_path,
        env=clean_environment(),
    )
    assert process.stdin is not None
    process.stdin.write(b"How far is Agadez from Niamey?\n" * 50)
    process.stdin.flush()
    time.sleep(delay)
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode in (0, 130, -signal.SIGINT)  # the last: before Python set up
    assert b"Traceback" not in stderr and b"KeyboardInterrupt" not in stderr, stderr.decode()


def test_chat_loads_the_models_before_the_prompt_and_keeps_keys_typed_meanwhile(
    sample_index: Path, tmp_path: Path
) -> None:
    from tests.auxil.terminal import Terminal

    question = "How far is Agadez from Niamey?"
    env = {"QUOTEBOT_CACHE_DIR": str(tmp_path / "cache"), "HOME": str(tmp_path)}
    chat = Terminal("chat", "--index-dir", sample_index, cwd=tmp_path, env=env, columns=80)
    chat.wait_for("Loading the articles and the models")
    chat.type(question + "\r")  # typed ahead, while the models load
    chat.wait_for("paragraph 2")
    before_prompt = chat.screen.split("\n? ")[0]
    assert question not in before_prompt  # not echoed over the loading line
    chat.type("why " * 400 + "\r")  # 1,600 characters
    chat.wait_for("too long")
    chat.type("quit\r")
    assert chat.finish() == 0
    assert "Traceback" not in chat.screen
