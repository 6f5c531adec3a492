"""Shared fixtures: the sample index is built once per session with the real model."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from tests.auxil.cli import DEVELOPER_SETTINGS

from quotebot import indexing
from quotebot.core import Engine

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
