"""The index on disk survives: writers killed at any moment, two writers, other models."""

from __future__ import annotations

import gc
import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from tests.auxil.cli import ROOT, quotebot
from tests.auxil.corpus import FERRY_QUESTION, bridge, ferry, many_articles

from quotebot import embedding, indexing, storage
from quotebot.core import Engine, answer_with


def _leftovers(index_dir: Path) -> list[str]:
    return sorted(p.name for p in index_dir.iterdir() if p.name.startswith(".tmp-"))


def _versions(index_dir: Path) -> list[str]:
    return sorted(p.name for p in index_dir.glob("v-*"))


def _assert_answers(index_dir: Path, question: str, words: str) -> None:
    answer = Engine(index_dir).answer(question)
    assert answer.found and words in answer.quote, answer


@pytest.fixture
def two_articles(tmp_path: Path) -> Path:
    """An index of the ferry and bridge articles, changed twice (three versions so far)."""
    index_dir = tmp_path / "index"
    indexing.build(index_dir, [ferry(tmp_path / "src")])
    indexing.add(index_dir, [bridge(tmp_path / "src")])
    indexing.remove(index_dir, ["bridge"])
    indexing.add(index_dir, [bridge(tmp_path / "src")])
    return index_dir


# Run `indexing.remove(INDEX, ["ferry"])` in a process that SIGKILLs itself at one moment.
_KILLED_REMOVE = """
import os, shutil, signal, sys
from pathlib import Path
import numpy as np
from quotebot import indexing

def die(*args, **kwargs):
    os.kill(os.getpid(), signal.SIGKILL)

point = sys.argv[2]
if point == "writing":  # files of the new version half written
    np.save = die
elif point == "before-rename":  # new version complete under its temporary name
    os.rename = die
elif point == "switching":  # new version in place, new CURRENT written, not yet swapped in
    os.replace = die
elif point == "cleaning":  # new version live, old versions being deleted
    shutil.rmtree = die
indexing.remove(Path(sys.argv[1]), ["ferry"])
"""


@pytest.mark.parametrize(
    ("point", "ferry_still_there"),
    [("writing", True), ("before-rename", True), ("switching", True), ("cleaning", False)],
)
def test_writer_killed_at_each_step_leaves_a_whole_index(
    two_articles: Path, point: str, ferry_still_there: bool
) -> None:
    killed = subprocess.run(
        [sys.executable, "-c", _KILLED_REMOVE, str(two_articles), point],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    assert _leftovers(two_articles), "the kill should have left something behind"

    ids = [a.id for a in storage.open_index(two_articles).articles()]
    assert ("ferry" in ids) is ferry_still_there
    _assert_answers(two_articles, "When does the old bridge close?", "May")
    if ferry_still_there:
        _assert_answers(two_articles, FERRY_QUESTION, "noon")

    # The next writer removes what the killed one left behind and carries on.
    report = indexing.remove(two_articles, ["bridge"])
    assert report.removed == ["bridge"]
    assert _leftovers(two_articles) == []
    assert len(_versions(two_articles)) == 2  # the live one and one spare
    assert [a.id for a in storage.open_index(two_articles).articles()] == (
        ["ferry"] if ferry_still_there else []
    )


def _start_build(sources: Path, index_dir: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "quotebot", "index", "build", str(sources)],
        env={**os.environ, "QUOTEBOT_INDEX_DIR": str(index_dir)},
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        text=True,
    )


@pytest.mark.slow
def test_build_killed_at_random_moments_leaves_the_old_index_answering(tmp_path: Path) -> None:
    index_dir = tmp_path / "index"
    indexing.build(index_dir, [ferry(tmp_path / "old")])
    new = tmp_path / "new"
    many_articles(new, 60)
    ferry(new)
    moments = random.Random(20261203)  # the same moments every run
    kills = 0
    for _attempt in range(8):
        delay = moments.uniform(0.2, 4.0)  # a whole build takes about 3-6 s here
        build = _start_build(new, index_dir)
        time.sleep(delay)
        build.send_signal(signal.SIGKILL)
        build.wait()
        _assert_answers(index_dir, FERRY_QUESTION, "noon")  # old or new version, whole
        if build.returncode == -signal.SIGKILL:
            kills += 1
            if kills == 3:
                break
        else:  # finished before the kill: not the fault wanted; back to the old index
            indexing.build(index_dir, [ferry(tmp_path / "old")])
    assert kills == 3, "the builds finished before they could be killed"


@pytest.mark.slow
def test_build_killed_while_writing_its_version(tmp_path: Path) -> None:
    index_dir = tmp_path / "index"
    indexing.build(index_dir, [ferry(tmp_path / "old")])
    old_version = storage.current_version(index_dir)
    new = tmp_path / "new"
    many_articles(new, 30)
    for _attempt in range(5):  # until the kill lands while the new version is being written
        build = _start_build(new, index_dir)
        while build.poll() is None and not list(index_dir.glob(".tmp-v-*")):
            time.sleep(0.002)
        build.send_signal(signal.SIGKILL)
        build.wait()
        if build.returncode == -signal.SIGKILL:
            break
        indexing.build(index_dir, [ferry(tmp_path / "old")])  # it finished first: again
        old_version = storage.current_version(index_dir)
    assert build.returncode == -signal.SIGKILL, "the build always finished before the kill"
    assert storage.current_version(index_dir) == old_version
    assert [a.id for a in storage.open_index(index_dir).articles()] == ["ferry"]
    _assert_answers(index_dir, FERRY_QUESTION, "noon")


def test_second_writer_gets_a_clear_message(tmp_path: Path) -> None:
    index_dir = tmp_path / "index"
    indexing.build(index_dir, [ferry(tmp_path)])
    with storage.writer(index_dir):
        result = quotebot("index", "add", bridge(tmp_path), "--index-dir", index_dir)
        assert result.returncode != 0
        assert f"the index in {index_dir} is being changed by quotebot (pid {os.getpid()}" in (
            result.stderr
        )
        assert "try again when that has finished" in result.stderr
        assert "Traceback" not in result.stderr

        # Another thread of this process is a second writer too.
        failures: list[Exception] = []

        def add_bridge() -> None:
            try:
                indexing.add(index_dir, [bridge(tmp_path)])
            except storage.IndexLocked as error:
                failures.append(error)

        thread = threading.Thread(target=add_bridge)
        thread.start()
        thread.join()
        assert len(failures) == 1
    assert indexing.add(index_dir, [bridge(tmp_path)]).added == ["bridge"]


def test_a_version_in_use_is_not_deleted(tmp_path: Path) -> None:
    index_dir = tmp_path / "index"
    indexing.build(index_dir, [ferry(tmp_path)])
    engine = Engine(index_dir)
    held = engine.index  # a question in flight on the first version
    indexing.add(index_dir, [bridge(tmp_path)])
    indexing.remove(index_dir, ["bridge"])
    indexing.add(index_dir, [bridge(tmp_path)])
    assert held.path.is_dir()  # three versions later, still readable
    assert [p.article_id for p in held.all_passages()] == ["ferry", "ferry"]
    assert "noon" in answer_with(held, FERRY_QUESTION).quote  # the question finishes on it
    assert engine.index.path != held.path  # new questions go to the live version
    del held, engine
    gc.collect()
    indexing.remove(index_dir, ["bridge"])
    assert len(_versions(index_dir)) == 2


def test_model_constants_match_the_model() -> None:
    assert embedding.dimension() == embedding.DIMENSION


def test_unchanged_paragraphs_reuse_their_vectors(tmp_path: Path) -> None:
    """A stored vector is copied into the next version, not computed again: we replace
    one with a marker vector and find the marker in the next version."""
    index_dir = tmp_path / "index"
    indexing.build(index_dir, [ferry(tmp_path)])
    version = storage.current_version(index_dir)
    assert version is not None
    vectors = np.load(version / storage.VECTORS)
    marker = np.zeros(vectors.shape[1], dtype=np.float32)
    marker[0] = 1.0
    vectors[1] = marker  # paragraph 2, "Tickets cost twelve pounds."
    np.save(version / storage.VECTORS, vectors)
    manifest = json.loads((version / storage.MANIFEST).read_text())
    del manifest["checksums"][storage.VECTORS]  # this change is on purpose
    (version / storage.MANIFEST).write_text(json.dumps(manifest))

    changed = (tmp_path / "ferry.txt").read_text().replace("at noon", "at one o'clock")
    (tmp_path / "ferry.txt").write_text(changed)
    report = indexing.add(index_dir, [tmp_path / "ferry.txt"])
    assert report.updated == ["ferry"] and report.embedded == 1

    index = storage.open_index(index_dir)
    assert np.array_equal(index.vectors[1], marker)  # reused
    assert not np.array_equal(index.vectors[0], vectors[0])  # the changed one, embedded anew
    assert index.nearest(marker, 1)[0][0] == 1  # and FAISS holds the reused vector


def test_an_index_dir_that_cannot_be_written_is_one_line(tmp_path: Path) -> None:
    not_a_folder = tmp_path / "file"
    not_a_folder.write_text("x")
    result = quotebot("index", "build", ferry(tmp_path), "--index-dir", not_a_folder)
    assert result.returncode != 0
    assert f"cannot write the index in {not_a_folder}" in result.stderr
    assert "Traceback" not in result.stderr
