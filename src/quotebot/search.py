"""Finding the passages for a question: dense (FAISS) and keyword (BM25) scores, fused."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from quotebot import embedding
from quotebot.passages import Passage
from quotebot.store import Index

CANDIDATES = 50
DENSE_WEIGHT = 0.5


@dataclass(frozen=True)
class Hit:
    """A passage found for a question, with how well it matched (higher is better).

    ``score`` is the fused score; ``dense`` the cosine similarity; ``keyword`` the BM25
    score divided by the best BM25 score among all passages for this question.
    """

    passage: Passage
    score: float
    row: int
    dense: float = 0.0
    keyword: float = 0.0


def search(index: Index, question: str, k: int = 5) -> list[Hit]:
    """The k passages that best match the question, best first.

    Candidates are the nearest passages in meaning and the best keyword matches; each is
    scored by a weighted sum of its cosine similarity and its normalized BM25 score.

    Args:
        index: An opened index.
        question: The question as the user wrote it.
        k: How many passages to return. Defaults to 5.
    """
    if len(index) == 0:
        return []
    vector = embedding.encode([question])[0]
    bm25 = index.keyword_scores(question)
    best_bm25 = float(bm25.max())
    candidates = {row for row, _ in index.search(vector, CANDIDATES)}
    if best_bm25 > 0:
        top = np.argpartition(-bm25, min(CANDIDATES, len(bm25) - 1))[:CANDIDATES]
        candidates.update(int(row) for row in top if bm25[row] > 0)
    rows = np.array(sorted(candidates))
    dense = np.asarray(index.vectors[rows]) @ vector
    keyword = bm25[rows] / best_bm25 if best_bm25 > 0 else np.zeros(len(rows))
    fused = DENSE_WEIGHT * dense + (1 - DENSE_WEIGHT) * keyword
    order = np.argsort(-fused)[:k]
    passages = index.passages([int(rows[i]) for i in order])
    return [
        Hit(p, float(fused[i]), int(rows[i]), float(dense[i]), float(keyword[i]))
        for p, i in zip(passages, order, strict=True)
    ]
