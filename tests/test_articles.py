"""Reading sources: every format, and bad files reported by name and skipped."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.conftest import ARTICLES, SEED_ARTICLE_ID

from quotebot.sources import SourceOptions, read_sources


def test_sample_txt_title_and_paragraphs() -> None:
    read = read_sources([ARTICLES])
    assert not read.errors
    [article] = [a for a in read.articles if a.id == SEED_ARTICLE_ID]
    assert article.title == "Russian forces positioning to take over U.S. Military base"
    assert article.paragraphs[0].startswith("NIAMEY, NE")
    assert "500 miles" in article.paragraphs[1]


def test_json_and_jsonl_records(tmp_path: Path) -> None:
    (tmp_path / "one.json").write_text(
        json.dumps(
            {
                "id": "a1",
                "title": "Alpha",
                "url": "https://example.org/a1",
                "published": "2024-05-01",
                "text": "First para.\n\nSecond para.",
            }
        )
    )
    (tmp_path / "many.jsonl").write_text(
        json.dumps({"id": "b1", "title": "Beta", "paragraphs": ["One.", "Two.", "Three."]})
        + "\n"
        + json.dumps({"id": "b2", "title": "Gamma", "text": "Only."})
        + "\n"
    )
    read = read_sources([tmp_path])
    by_id = {a.id: a for a in read.articles}
    assert not read.errors
    assert by_id["a1"].paragraphs == ("First para.", "Second para.")
    assert by_id["a1"].url == "https://example.org/a1" and by_id["a1"].published == "2024-05-01"
    assert len(by_id["b1"].paragraphs) == 3 and by_id["b2"].title == "Gamma"


def test_broken_files_are_named_and_skipped(tmp_path: Path) -> None:
    (tmp_path / "good.txt").write_text("Good title\n\nA good paragraph.\n")
    (tmp_path / "empty.txt").write_text("")
    (tmp_path / "binary.txt").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00")
    (tmp_path / "bad.json").write_text('{"id": "x", "title": ')
    (tmp_path / "mixed.jsonl").write_text(
        json.dumps({"id": "m1", "title": "Fine", "text": "Fine text."})
        + "\n{oops\n"
        + json.dumps({"id": "m3", "title": "No text"})
        + "\n"
    )
    (tmp_path / "latin1.txt").write_bytes("Café title\n\nCrème brûlée à Paris.\n".encode("cp1252"))
    read = read_sources([tmp_path, tmp_path / "missing.txt"])
    assert sorted(a.id for a in read.articles) == ["good", "latin1", "m1"]
    assert next(a for a in read.articles if a.id == "latin1").title == "Café title"
    messages = "\n".join(map(str, read.errors))
    for name, reason in [
        ("empty.txt", "empty"),
        ("binary.txt", "binary"),
        ("bad.json", "line 1"),
        ("mixed.jsonl:2", "malformed JSON"),
        ("mixed.jsonl:3", "no 'paragraphs' or 'text'"),
        ("missing.txt", "no such file"),
    ]:
        assert any(name in str(e) and reason in str(e) for e in read.errors), (name, messages)


def test_duplicate_ids_keep_the_first(tmp_path: Path) -> None:
    (tmp_path / "a.jsonl").write_text(
        json.dumps({"id": "same", "title": "First", "text": "One."})
        + "\n"
        + json.dumps({"id": "same", "title": "Second", "text": "Two."})
        + "\n"
    )
    read = read_sources([tmp_path])
    assert [a.title for a in read.articles] == ["First"]
    assert "duplicate article id 'same'" in str(read.errors[0])


@contextmanager
def _without_root() -> Iterator[None]:
    """Act as an ordinary user (root reads every folder whatever its permissions)."""
    if os.geteuid() != 0:
        yield
        return
    os.seteuid(65534)  # nobody
    try:
        yield
    finally:
        os.seteuid(0)


def test_a_folder_that_cannot_be_listed_is_named() -> None:
    with tempfile.TemporaryDirectory() as tmp:  # not under pytest's root-only folder
        folder = Path(tmp)
        folder.chmod(0o755)
        (folder / "good.txt").write_text("Good title\n\nA good paragraph.\n")
        (folder / "locked").mkdir()
        (folder / "locked" / "secret.txt").write_text("Secret\n\nNot to be read.\n")
        (folder / "locked").chmod(0o000)
        with _without_root():
            read = read_sources([folder], SourceOptions())
    assert [a.id for a in read.articles] == ["good"]
    assert [str(e) for e in read.errors] == [
        f"{folder / 'locked'}: cannot list this folder (Permission denied)"
    ]
