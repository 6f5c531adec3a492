"""The FAISS index type follows the corpus size, and approximate search finds what exact finds."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from benchmarks.scale import synthetic
from tests.conftest import ARTICLES, SEED_ARTICLE_ID

from quotebot import indexing, storage
from quotebot.core import Engine
from quotebot.storage.folder import dense


def test_a_small_index_is_exact_and_a_large_one_approximate(tmp_path: Path) -> None:
    small = indexing.build(tmp_path / "small", [ARTICLES])
    assert small.version is not None
    assert storage.open_index(tmp_path / "small").manifest.dense_index == "flat"

    few = storage.DenseOptions(flat_limit=3)  # QUOTEBOT_FLAT_LIMIT; the sample has more passages
    large = indexing.build(storage.FolderStore(tmp_path / "large", few), [ARTICLES])
    assert large.version is not None
    index = storage.open_index(tmp_path / "large")
    assert index.manifest.dense_index == "hnsw" and dense.kind_of(index.dense) == "hnsw"

    result = Engine(tmp_path / "large").answer("How far is Agadez from Niamey?")
    assert result.found and "500 miles" in result.quote
    assert result.passages[0].passage.article_id == SEED_ARTICLE_ID


@pytest.mark.parametrize("kind", ["hnsw", "ivfpq"])
def test_approximate_search_recalls_the_exact_top_ten(kind: dense.Kind) -> None:
    vectors = synthetic(4000)
    queries = synthetic(50, seed=1)
    exact = dense.build(vectors, kind="flat", flat_limit=0)
    approximate = dense.build(vectors, kind=kind, flat_limit=0)
    assert dense.kind_of(approximate) == kind
    found = 0
    for query in queries:
        truth = {row for row, _ in dense.search_vectors(exact, vectors, query, 10)}
        hits = dense.search_vectors(approximate, vectors, query, 10)
        found += len(truth & {row for row, _ in hits})
        scores = [score for _, score in hits]
        assert scores == sorted(scores, reverse=True)
        np.testing.assert_allclose(scores, vectors[[row for row, _ in hits]] @ query, rtol=1e-5)
    assert found / (10 * len(queries)) >= 0.95


def test_the_size_picks_the_type() -> None:
    assert dense.choose(100, "auto", flat_limit=100) == "flat"
    assert dense.choose(101, "auto", flat_limit=100) == "hnsw"
    assert dense.choose(500, "ivfpq", flat_limit=100) == "flat"  # too few passages to train on
    assert dense.choose(5000, "ivfpq", flat_limit=100) == "ivfpq"
