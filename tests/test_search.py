"""Finding passages: dense and keyword scores fused, then reranked by their sentences."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.auxil.corpus import lighthouse, many_articles
from tests.conftest import ARTICLES

from quotebot import indexing, storage
from quotebot.retrieval import DENSE_WEIGHT, first_stage, search


@pytest.fixture(scope="module")
def index(tmp_path_factory: pytest.TempPathFactory) -> storage.Index:
    """The seed article and the lighthouse article in one index."""
    folder = tmp_path_factory.mktemp("search")
    lighthouse(folder / "articles")
    indexing.build(folder / "index", [ARTICLES, folder / "articles"])
    return storage.open_index(folder / "index")


def top(hits: list, n: int = 1) -> list[tuple[str, int]]:
    return [(h.passage.article_id, h.passage.paragraph) for h in hits[:n]]


def test_fused_score_weighs_cosine_and_normalized_bm25(index: storage.Index) -> None:
    hits = first_stage(index, "Who designed the Skerryvore light?")
    assert max(h.keyword for h in hits) == pytest.approx(1.0)
    for hit in hits:
        assert 0.0 <= hit.keyword <= 1.0 and -1.0 <= hit.dense <= 1.0
        fused = DENSE_WEIGHT * hit.dense + (1 - DENSE_WEIGHT) * hit.keyword
        assert hit.score == pytest.approx(fused, abs=1e-5)
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)


def test_keyword_mode_finds_a_rare_name_the_question_shares(index: storage.Index) -> None:
    assert top(search(index, "Skerryvore", mode="keyword")) == [("lighthouse", 1)]
    assert top(search(index, "Who designed the Skerryvore light?")) == [("lighthouse", 1)]


@pytest.mark.parametrize(
    ("question", "paragraph"),
    [
        ("Who designed the Ardnamurchan lighthouse?", 1),
        ("How tall is the tower?", 1),
        ("How many steps lead up to the lantern room?", 2),
        ("When was the light automated?", 0),
        ("How much will the restoration cost?", 3),
    ],
)
def test_hybrid_puts_the_answering_paragraph_first(
    index: storage.Index, question: str, paragraph: int
) -> None:
    hits = search(index, question, k=3)
    assert top(hits) == [("lighthouse", paragraph)]
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)


def test_modes_list_k_passages(index: storage.Index) -> None:
    for mode in ("hybrid", "dense", "keyword"):
        hits = search(index, "Who is the Kremlin spokesperson?", k=4, mode=mode)
        assert len(hits) == 4
        assert len({h.row for h in hits}) == 4


def test_more_passages_than_the_second_stage_looks_at(tmp_path: Path) -> None:
    many_articles(tmp_path / "articles", 8)  # 40 passages
    indexing.build(tmp_path / "index", [tmp_path / "articles"])
    index = storage.open_index(tmp_path / "index")
    question = "When did the library in Arden open?"
    for k in (5, 30):
        hits = search(index, question, k)
        assert len(hits) == k
        assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
    assert [h.row for h in search(index, question, 30)[:5]] == [
        h.row for h in search(index, question, 5)
    ]
