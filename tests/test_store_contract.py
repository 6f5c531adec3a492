"""The contract every store keeps (quotebot.storage.protocol), run on each of them: the
folder of versions and a real PostgreSQL (the ``store`` fixture; a new store is one more
parameter there). Through the library and the command line, as a user would."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from pathlib import Path

from tests.auxil.cli import ROOT, clean_environment, quotebot
from tests.auxil.corpus import FERRY_QUESTION, bridge, ferry, many_articles
from tests.conftest import Store

from quotebot import core, indexing

BRIDGE_QUESTION = "When does the old bridge close?"


def _ids(store: Store) -> list[str]:
    return [a.id for a in store.location.open().articles()]


def _answers(store: Store, question: str, words: str) -> None:
    result = core.Engine(store.location).answer(question)
    assert result.found and words in result.quote, result


def test_add_replace_remove_list_and_stats(store: Store, tmp_path: Path) -> None:
    assert not store.location.has_index() and store.location.live_version() is None
    built = indexing.build(store.location, [ferry(tmp_path / "a")])
    assert built.added == ["ferry"] and built.version == store.location.live_version()
    assert indexing.add(store.location, [bridge(tmp_path / "b")]).added == ["bridge"]
    assert _ids(store) == ["ferry", "bridge"]
    _answers(store, BRIDGE_QUESTION, "May")

    changed = (tmp_path / "a" / "ferry.txt").read_text().replace("at noon", "at one o'clock")
    (tmp_path / "a" / "ferry.txt").write_text(changed)
    replaced = indexing.add(store.location, [tmp_path / "a" / "ferry.txt"])
    assert replaced.updated == ["ferry"] and replaced.embedded == 1  # the other reused
    _answers(store, FERRY_QUESTION, "one o'clock")

    removed = indexing.remove(store.location, ["bridge", "nothing"])
    assert removed.removed == ["bridge"] and len(removed.skipped) == 1
    assert _ids(store) == ["ferry"]

    listed = quotebot("index", "list", *store.args)
    assert listed.returncode == 0 and listed.stdout.startswith("ferry\t"), listed.stderr
    stats = quotebot("index", "stats", *store.args)
    assert stats.returncode == 0, stats.stderr
    assert re.search(r"articles +1\b", stats.stdout) and "all-MiniLM-L6-v2" in stats.stdout
    assert store.location.size_on_disk() > 0 and store.location.written_at()


# Run `indexing.add(STORE, [SOURCE])` in a process that SIGKILLs itself halfway through
# writing the passages of the new version, whatever the store does with them.
_KILLED_WRITE = """
import os, signal, sys
from pathlib import Path
from quotebot import core, indexing

class Dying(list):
    def __iter__(self):
        for number, item in enumerate(list.__iter__(self)):
            if number == len(self) // 2:
                os.kill(os.getpid(), signal.SIGKILL)
            yield item

store = core.location(Path(sys.argv[1]), sys.argv[2] or None)
changing = type(store).changing

def dying_changes(self, dimension):
    manager = changing(self, dimension)
    change = manager.__enter__()
    write = change.write
    change.write = lambda articles, passages, *rest, **named: write(
        articles, Dying(passages), *rest, **named
    )
    class Held:
        def __enter__(self):
            return change
        def __exit__(self, *exc):
            return manager.__exit__(*exc)
    return Held()

type(store).changing = dying_changes
indexing.add(store, [Path(sys.argv[3])])
"""


def _where(store: Store) -> tuple[str, str]:
    """The store as the killed writer's arguments: an index folder, a database URL."""
    url = store.env.get("QUOTEBOT_DATABASE_URL", "")
    return store.env.get("QUOTEBOT_INDEX_DIR", "."), url


def test_a_writer_killed_while_writing_leaves_the_old_version(store: Store, tmp_path: Path) -> None:
    indexing.build(store.location, [ferry(tmp_path / "a")])
    before = store.location.live_version()
    new = tmp_path / "new"
    many_articles(new, 12)
    killed = subprocess.run(
        [sys.executable, "-c", _KILLED_WRITE, *_where(store), str(new)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=clean_environment(),
    )
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    assert store.location.live_version() == before
    assert _ids(store) == ["ferry"]
    _answers(store, FERRY_QUESTION, "noon")
    report = indexing.add(store.location, [new])  # the next writer carries on
    assert len(report.added) == 12 and len(_ids(store)) == 13


def test_two_writers_at_once_lose_nothing(store: Store, tmp_path: Path) -> None:
    """Each writer either lands or is told, in one line, that another is at work (a folder
    refuses the second writer; a database makes it wait); nothing half-written is left."""
    indexing.build(store.location, [ferry(tmp_path / "a")])
    folders = []
    for number in range(2):
        folder = tmp_path / f"w{number}"
        many_articles(folder, 15, prefix=f"w{number}-")
        folders.append(folder)
    writers = [
        subprocess.Popen(
            [sys.executable, "-m", "quotebot", "index", "add", str(folder), *store.args],
            env=clean_environment(),
            cwd=tmp_path,
            stderr=subprocess.PIPE,
            text=True,
        )
        for folder in folders
    ]
    results = [(w.wait(timeout=300), w.stderr.read() if w.stderr else "") for w in writers]
    ids = set(_ids(store))
    landed = 0
    for number, (code, stderr) in enumerate(results):
        mine = {f"w{number}-{i:03d}" for i in range(15)}
        if code == 0:
            landed += 1
            assert mine <= ids, stderr
        else:
            assert "is being changed" in stderr and "Traceback" not in stderr, stderr
            assert not mine & ids
    assert landed >= 1 and "ferry" in ids


def test_an_index_built_differently_is_refused_and_kept(store: Store, tmp_path: Path) -> None:
    indexing.build(store.location, [ferry(tmp_path / "a")])
    store.set_manifest(model="all-mpnet-base-v2", dimension=768)
    for args in (["ask", FERRY_QUESTION], ["index", "add", bridge(tmp_path / "b")]):
        result = quotebot(*args, *store.args)
        assert result.returncode == 1
        [line] = result.stderr.strip().splitlines()
        assert "built with the model all-mpnet-base-v2 (768 dimensions)" in line
        assert "rebuild it with `quotebot index build`" in line
    store.set_manifest(model="all-MiniLM-L6-v2", dimension=384)
    assert _ids(store) == ["ferry"]  # the refused add dropped nothing

    store.set_manifest(format_version=99)
    newer = quotebot("ask", FERRY_QUESTION, *store.args)
    assert newer.returncode == 1 and "written by a newer quotebot" in newer.stderr

    rebuilt = quotebot("index", "build", ferry(tmp_path / "c"), *store.args)
    assert rebuilt.returncode == 0, rebuilt.stderr
    _answers(store, FERRY_QUESTION, "noon")


def test_a_reader_finishes_on_its_version_while_the_next_goes_live(
    store: Store, tmp_path: Path
) -> None:
    indexing.build(store.location, [ferry(tmp_path / "a")])
    engine = core.Engine(store.location)
    held = engine.index  # a question in flight on the first version
    indexing.add(store.location, [bridge(tmp_path / "b")])
    assert [p.article_id for p in held.all_passages()] == ["ferry", "ferry"]
    assert "noon" in core.answer_with(held, FERRY_QUESTION).quote
    assert engine.index.version == store.location.live_version() != held.version
    assert "May" in engine.answer(BRIDGE_QUESTION).quote  # new questions see the new one


def test_no_index_is_one_line(store: Store) -> None:
    asked = quotebot("ask", FERRY_QUESTION, *store.args)
    assert asked.returncode != 0 and "no index in" in asked.stderr
    assert "Traceback" not in asked.stderr
    assert os.environ.get("QUOTEBOT_INDEX_DIR") is None  # the test's own settings only
