"""Changing the index: add, re-add, change and remove articles, reusing vectors."""

from __future__ import annotations

import json
from pathlib import Path

from tests.auxil.website import article_html, serve
from tests.conftest import Store

from quotebot import indexing, storage, text
from quotebot.core import Engine
from quotebot.sources import SourceOptions, read_sources


def _write(folder: Path, name: str, title: str, *paragraphs: str) -> Path:
    path = folder / f"{name}.txt"
    path.write_text(title + "\n\n" + "\n\n".join(paragraphs) + "\n")
    return path


def test_add_readd_change_remove(tmp_path: Path, store: Store) -> None:
    index_dir = store.location
    ferry = _write(
        tmp_path,
        "ferry",
        "Ferry news",
        "The ferry to Oban leaves at noon.",
        "Tickets cost twelve pounds.",
    )
    report = indexing.add(index_dir, [ferry])
    assert (report.added, report.embedded, report.passages) == (["ferry"], 2, 2)

    again = indexing.add(index_dir, [ferry])
    assert again.unchanged == ["ferry"] and again.version is None and again.embedded == 0

    _write(
        tmp_path,
        "ferry",
        "Ferry news",
        "The ferry to Oban leaves at one o'clock.",
        "Tickets cost twelve pounds.",
    )
    changed = indexing.add(index_dir, [ferry])
    assert changed.updated == ["ferry"] and changed.embedded == 1  # one paragraph reused

    bridge = _write(tmp_path, "bridge", "Bridge works", "The old bridge closes in May.")
    indexing.add(index_dir, [bridge])
    engine = Engine(index_dir)
    assert "one o'clock" in engine.answer("When does the ferry to Oban leave?").quote

    removed = indexing.remove(index_dir, ["ferry", "nope"])
    assert removed.removed == ["ferry"] and "nope" in str(removed.skipped[0])
    index = storage.open_store(index_dir).open()
    assert [a.id for a in index.articles()] == ["bridge"] and len(index) == 1
    assert len(index.keyword_scores(text.stems("ferry Oban"))) == 1
    assert not index.keyword_scores(
        text.stems("ferry Oban")
    ).any()  # gone from the keyword index too
    assert all(h.passage.article_id == "bridge" for h in engine.answer("ferry to Oban").passages)


def test_bot_adds_an_article_by_url(tmp_path: Path) -> None:
    """What the bot's /add URL does: indexing.add with the URL as a str."""
    loopback = indexing.IndexOptions(sources=SourceOptions(allow_private_urls=True))
    index_dir = tmp_path / "index"
    indexing.add(index_dir, [_write(tmp_path, "bridge", "Bridge works", "The bridge closes.")])
    engine = Engine(index_dir)
    page = article_html(
        "Oban ferry timetable changes",
        "The ferry to Oban will leave at noon from the north pier from Monday.",
    )
    with serve() as site:
        url = site.page("/news/oban-ferry", page)
        report = indexing.add(index_dir, [url], options=loopback)
    assert len(report.added) == 1 and not report.skipped
    answer = engine.answer("When does the ferry to Oban leave?")
    assert answer.found and "noon" in answer.quote
    assert answer.passages[0].passage.url == url
    assert answer.passages[0].passage.published == "2024-05-03"


def test_each_article_carries_a_content_hash(tmp_path: Path) -> None:
    index_dir = tmp_path / "index"
    ferry = _write(tmp_path, "ferry", "Ferry news", "The ferry leaves at noon.")
    indexing.add(index_dir, [ferry])
    [info] = storage.open_index(index_dir).articles()
    [article] = read_sources([ferry]).articles
    assert info.content_hash == article.content_hash and len(info.content_hash) == 32

    # The same article from another file is the same article; a changed date is an update.
    record = {"id": "ferry", "title": "Ferry news", "paragraphs": ["The ferry leaves at noon."]}
    (tmp_path / "ferry.json").write_text(json.dumps(record))
    assert indexing.add(index_dir, [tmp_path / "ferry.json"]).unchanged == ["ferry"]
    (tmp_path / "ferry.json").write_text(json.dumps({**record, "published": "2024-05-03"}))
    report = indexing.add(index_dir, [tmp_path / "ferry.json"])
    assert report.updated == ["ferry"] and report.embedded == 0  # same text, vector reused
