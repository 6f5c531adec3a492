"""Qdrant in place of FAISS (qdrant-client's local mode): build, add, remove and ask."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.conftest import ARTICLES, SEED_ARTICLE_ID

from quotebot import indexing, storage
from quotebot.core import Engine
from quotebot.storage import dense, qdrant


def _write(folder: Path, name: str, title: str, *paragraphs: str) -> Path:
    path = folder / f"{name}.txt"
    path.write_text(title + "\n\n" + "\n\n".join(paragraphs) + "\n")
    return path


def test_build_add_remove_and_ask_against_qdrant(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("QUOTEBOT_QDRANT_URL", str(tmp_path / "qdrant"))
    index_dir = tmp_path / "index"
    indexing.build(index_dir, [ARTICLES])
    index = storage.open_index(index_dir)
    assert index.manifest.dense_index == "qdrant"
    assert not (index.path / dense.FILE).exists()
    assert isinstance(index.dense, qdrant.Collection) and index.dense.ntotal == len(index)

    engine = Engine(index_dir)
    result = engine.answer("How far is Agadez from Niamey?")
    assert result.found and "500 miles" in result.quote
    assert result.passages[0].passage.article_id == SEED_ARTICLE_ID

    ferry = _write(
        tmp_path, "ferry", "Ferry news", "The ferry to Oban leaves at noon.", "Tickets cost £12."
    )
    added = indexing.add(index_dir, [ferry])
    assert added.added == ["ferry"] and added.embedded == 2  # the rest reused
    assert "noon" in engine.answer("When does the ferry to Oban leave?").quote

    indexing.remove(index_dir, ["ferry"])
    index = storage.open_index(index_dir)
    assert isinstance(index.dense, qdrant.Collection) and index.dense.ntotal == len(index)
    assert all(h.passage.article_id != "ferry" for h in engine.answer("ferry to Oban").passages)

    # Deleted versions take their collections with them.
    versions = [p for p in index_dir.glob("v-*") if (p / qdrant.MARKER).exists()]
    kept = {(p / qdrant.MARKER).read_text().strip() for p in versions}
    collections = {c.name for c in qdrant.client().get_collections().collections}
    assert collections == kept


def test_an_index_in_qdrant_needs_the_setting(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("QUOTEBOT_QDRANT_URL", str(tmp_path / "qdrant"))
    indexing.build(tmp_path / "index", [ARTICLES])
    monkeypatch.delenv("QUOTEBOT_QDRANT_URL")
    with pytest.raises(storage.StoreError, match="QUOTEBOT_QDRANT_URL"):
        storage.open_index(tmp_path / "index")
