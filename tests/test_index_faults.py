"""Index damage made for real: a garbled CURRENT, a broken passages.sqlite, a flipped byte,
a full disk. Nothing indexed before is lost, every failure is one line, readers keep serving."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.auxil.cli import quotebot
from tests.auxil.corpus import FERRY_QUESTION, bridge, ferry, many_articles, write_article

from quotebot import indexing, storage
from quotebot.core import Engine


@pytest.fixture
def index_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "index"
    indexing.build(folder, [ferry(tmp_path / "articles")])
    indexing.add(folder, [bridge(tmp_path / "articles")])
    return folder


def _ids(index_dir: Path) -> set[str]:
    return {article.id for article in storage.open_index(index_dir).articles()}


@pytest.mark.parametrize("garbled", ["", "\x00\x13garbage\n", "v-999999-20240101T000000\n"])
def test_an_unreadable_current_is_recovered_not_taken_for_no_index(
    index_dir: Path, tmp_path: Path, garbled: str
) -> None:
    (index_dir / storage.CURRENT).write_text(garbled)
    assert _ids(index_dir) == {"ferry", "bridge"}  # readers use the newest good version
    tides = write_article(tmp_path / "more", "tides", "Tides", "Spring tides peak in March.")
    report = indexing.add(index_dir, [tides])
    assert any("could not be read; recovered the newest good version" in n for n in report.notes)
    assert _ids(index_dir) == {"ferry", "bridge", "tides"}
    assert report.articles == 3


def _damage(version: Path, damage: str) -> None:
    database = version / "passages.sqlite"
    data = database.read_bytes()
    database.write_bytes(
        {"empty": b"", "half": data[: len(data) // 2], "garbage": data[:100] + os.urandom(4000)}[
            damage
        ]
    )


@pytest.mark.parametrize("damage", ["empty", "half", "garbage"])
def test_a_damaged_only_version_is_one_line_and_nothing_is_deleted(
    tmp_path: Path, damage: str
) -> None:
    index_dir = tmp_path / "index"
    indexing.build(index_dir, [ferry(tmp_path / "articles")])
    live = storage.current_version(index_dir)
    assert live is not None
    _damage(live, damage)
    with pytest.raises(storage.StoreError, match=f"the index in {live} is damaged"):
        storage.open_index(index_dir)
    tides = write_article(tmp_path / "more", "tides", "Tides", "Spring tides peak in March.")
    with pytest.raises(storage.StoreError, match="rebuild it with `quotebot index build`"):
        indexing.add(index_dir, [tides])
    assert live.is_dir() and storage.current_version(index_dir) == live
    for command in (["ask", FERRY_QUESTION], ["index", "list"]):
        done = quotebot(*command, "--index-dir", index_dir)
        assert done.returncode == 1 and "Traceback" not in done.stderr
        [line] = done.stderr.strip().splitlines()
        assert "is damaged" in line


@pytest.mark.parametrize("damage", ["empty", "garbage"])
def test_a_damaged_live_version_serves_the_one_before_and_says_so(
    index_dir: Path, tmp_path: Path, damage: str
) -> None:
    live = storage.current_version(index_dir)  # ferry, then bridge added: two versions
    assert live is not None
    _damage(live, damage)
    assert _ids(index_dir) == {"ferry"}  # the version before the damaged one
    done = quotebot("ask", "--json", FERRY_QUESTION, "--index-dir", index_dir)
    assert done.returncode == 0 and '"answer": "noon"' in done.stdout
    [line] = done.stderr.strip().splitlines()
    assert f"the index in {live} is damaged" in line
    assert "meanwhile answering from the version before it, v-000001-" in line
    tides = write_article(tmp_path / "more", "tides", "Tides", "Spring tides peak in March.")
    with pytest.raises(storage.StoreError, match="rebuild it with `quotebot index build`"):
        indexing.add(index_dir, [tides])  # adding to the older one would lose bridge
    assert live.is_dir() and storage.current_version(index_dir) == live
    engine = Engine(index_dir)
    for _ in range(3):  # opened once: not reopened (and re-checked) at every question
        assert engine.answer(FERRY_QUESTION).found
    assert engine.index is engine.index


def test_a_flipped_byte_in_the_vectors_is_caught_by_the_checksum(index_dir: Path) -> None:
    live = storage.current_version(index_dir)
    assert live is not None
    dense = live / "dense.faiss"
    data = bytearray(dense.read_bytes())
    data[len(data) - 9] ^= 0x40  # inside a vector: the file keeps its size and shape
    dense.write_bytes(bytes(data))
    with pytest.raises(storage.StoreError, match="dense.faiss does not match its checksum"):
        storage.open_index(index_dir, writing=True)


def test_a_reader_keeps_answering_when_the_new_version_is_damaged(
    index_dir: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    engine = Engine(index_dir)
    assert engine.answer(FERRY_QUESTION).found
    old = engine.index.path
    tides = write_article(tmp_path / "more", "tides", "Tides", "Spring tides peak in March.")
    name = indexing.add(index_dir, [tides]).version
    assert name is not None
    (index_dir / name / "passages.sqlite").write_bytes(b"")
    for _ in range(3):
        result = engine.answer(FERRY_QUESTION)
        assert result.found and "noon" in result.quote
    assert engine.index.path == old
    warnings = [r for r in caplog.records if "meanwhile answering from" in r.getMessage()]
    assert len(warnings) == 1  # one warning, not one per question


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A real 3 MB file system (tmpfs), so that writes fail with ENOSPC."""
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("needs root to mount a tmpfs")
    folder = tmp_path / "small"
    folder.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=3m", "tmpfs", str(folder)])
    if done.returncode != 0:
        pytest.skip("cannot mount a tmpfs here")
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False)


def test_a_full_disk_while_writing_leaves_the_old_index_serving(
    small_disk: Path, tmp_path: Path
) -> None:
    index_dir = small_disk / "index"
    indexing.build(index_dir, [ferry(tmp_path / "articles")])
    live = storage.current_version(index_dir)
    filler = small_disk / "filler"
    with open(filler, "wb") as file:  # fill the disk up, leaving a little room
        free = shutil.disk_usage(small_disk).free
        file.write(b"\0" * max(free - 60_000, 0))
    sources = many_articles(tmp_path / "many", 40, paragraphs=10)
    with pytest.raises(storage.StoreError) as caught:
        indexing.add(index_dir, sources)
    assert str(caught.value) == (
        f"no space left on the disk of {index_dir} while writing the new version; "
        "the old one still serves"
    )
    assert not list(index_dir.glob(".tmp-*"))  # the half-written version is gone
    assert storage.current_version(index_dir) == live
    assert Engine(index_dir).answer(FERRY_QUESTION).found


@pytest.mark.parametrize("checked", [True, False], ids=["checksummed", "older index"])
def test_a_damaged_keyword_file_is_one_line_without_numpy_advice(
    tmp_path: Path, checked: bool
) -> None:
    index_dir = tmp_path / "index"
    indexing.build(index_dir, [ferry(tmp_path / "articles")])
    live = storage.current_version(index_dir)
    assert live is not None
    if not checked:  # as quotebot wrote it before keyword files had checksums
        manifest = json.loads((live / storage.MANIFEST).read_text())
        manifest["checksums"] = {
            k: v for k, v in manifest["checksums"].items() if not k.startswith("keywords/")
        }
        (live / storage.MANIFEST).write_text(json.dumps(manifest))
    for damaged in (live / "keywords").glob("*.npy"):
        data = damaged.read_bytes()
        damaged.write_bytes(data[:10] + b"\0" * 50 + data[60:])  # its header garbled
    done = quotebot("ask", FERRY_QUESTION, "--index-dir", index_dir)
    assert done.returncode == 1
    [line] = done.stderr.strip().splitlines()
    assert f"the index in {live} is damaged" in line
    reason = "does not match its checksum" if checked else "its keyword index cannot be read"
    assert reason in line and "unsafe" not in line and "pickle" not in line
