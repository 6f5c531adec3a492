"""The embedding backends: the same weights on torch and ONNX Runtime give the same vectors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from tests.conftest import ARTICLES, SEED_ARTICLE_ID

from quotebot import embedding, indexing, storage
from quotebot.core import Engine
from quotebot.embedding import onnx_encoder
from quotebot.indexing.passages import split_passages
from quotebot.sources import read_sources

QUESTIONS = [
    "How far is Agadez from Niamey?",
    "Who is the Kremlin spokesperson?",
    "What are the Russian forces doing in Niger?",
]


@pytest.fixture(scope="module")
def sample_texts() -> list[str]:
    """The sample articles' passages as they are embedded, and some questions."""
    articles = read_sources([ARTICLES]).articles
    return [p.embedding_text for a in articles for p in split_passages(a)] + QUESTIONS


@pytest.fixture(scope="module")
def reference(sample_texts: list[str]) -> np.ndarray:
    return embedding.encode(sample_texts, backend="torch")


@pytest.mark.parametrize("backend", ["onnx", "onnx-int8"])
def test_onnx_vectors_agree_with_sentence_transformers(
    backend: embedding.Backend, sample_texts: list[str], reference: np.ndarray
) -> None:
    vectors = embedding.encode(sample_texts, backend=backend)
    assert vectors.shape == reference.shape == (len(sample_texts), embedding.DIMENSION)
    assert vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-3)
    assert ((vectors * reference).sum(axis=1) >= 0.99).all()


@pytest.mark.parametrize("backend", embedding.BACKENDS)
def test_every_backend_ranks_the_passages_as_torch_does(
    backend: embedding.Backend, sample_index: Path
) -> None:
    """Same best passage; any two passages torch tells apart (by > 0.01) keep their order."""
    index = storage.open_index(sample_index)
    for question in QUESTIONS:
        ours = dict(index.nearest(embedding.encode([question], backend=backend)[0], len(index)))
        torch = index.nearest(embedding.encode([question], backend="torch")[0], len(index))
        assert max(ours, key=ours.__getitem__) == torch[0][0]
        for i, (better, high) in enumerate(torch):
            for worse, low in torch[i + 1 :]:
                if high - low > 0.01:
                    assert ours[better] > ours[worse], (question, better, worse)


def test_a_batch_gives_the_vectors_each_text_gets_alone(sample_texts: list[str]) -> None:
    """Padding never leaks into a vector; int8 scales activations per batch, so only close."""
    for backend, tolerance in [("onnx", 1e-6), ("onnx-int8", 0.01)]:
        together = embedding.encode(sample_texts, batch_size=4, backend=backend)
        alone = np.vstack([embedding.encode([t], backend=backend) for t in sample_texts[:6]])
        assert ((together[:6] * alone).sum(axis=1) >= 1 - tolerance).all()


def test_an_index_built_with_torch_answers_with_onnx(tmp_path: Path) -> None:
    index_dir = tmp_path / "index"
    passages = [p for a in read_sources([ARTICLES]).articles for p in split_passages(a)]
    vectors, _ = indexing.embed_passages(passages)  # the configured (default) backend
    torch_vectors = embedding.encode([p.embedding_text for p in passages], backend="torch")
    assert ((vectors * torch_vectors).sum(axis=1) >= 0.99).all()
    with storage.writer(index_dir):
        storage.write_version(
            index_dir,
            read_sources([ARTICLES]).articles,
            passages,
            torch_vectors,
            model=embedding.MODEL_NAME,
        )
    result = Engine(index_dir).answer("How far is Agadez from Niamey?")
    assert result.found and "500 miles" in result.quote
    assert result.passages[0].passage.article_id == SEED_ARTICLE_ID


def test_the_export_is_cached(tmp_path: Path) -> None:
    cache = tmp_path / "cache"  # QUOTEBOT_CACHE_DIR
    path = onnx_encoder.model_file(embedding.model_path(), embedding.MODEL_NAME, True, cache)
    assert path.parent == tmp_path / "cache" and path.name.endswith("-int8.onnx")
    assert sorted(p.name.rsplit("-", 1)[1] for p in path.parent.iterdir()) == [
        "fp32.onnx",
        "int8.onnx",
    ]
    made = path.stat().st_mtime_ns
    assert (
        onnx_encoder.model_file(embedding.model_path(), embedding.MODEL_NAME, True, cache) == path
    )
    assert path.stat().st_mtime_ns == made


def test_the_default_backend_is_onnx_int8(monkeypatch: pytest.MonkeyPatch) -> None:
    from quotebot.settings import Settings

    monkeypatch.delenv("QUOTEBOT_EMBEDDING_BACKEND", raising=False)
    assert Settings.read(None).embedding.backend == "onnx-int8"
    assert embedding.EmbeddingOptions().backend == "onnx-int8"
