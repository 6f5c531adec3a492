"""Fit the second-stage reranker on squad_dev8 and print its coefficients for search.py.

    .venv/bin/python scripts/fit_models.py [--data ../shared/eval/squad_dev8] [--work DIR]

A pairwise logistic model over a handful of lexical features (search.RERANK_WEIGHTS): "is
this candidate the right paragraph". The reader, the found decision and the answer confidence
are fitted by scripts/fit_reader.py, which also uses ``build_indexes`` from here.

Reported figures are cross-validated by held-out article. Needs scikit-learn (installed with
sentence-transformers).
"""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.linear_model import LogisticRegression

from quotebot import embedding, indexing, search, store
from quotebot.evaluation import Question, read_questions

ROTATIONS = 4


def build_indexes(data: Path, work: Path) -> tuple[Path, list[tuple[Path, set[str]]]]:
    """The full index and one index per rotation (vectors reused, nothing embedded twice)."""
    articles = [json.loads(line) for line in (data / "articles.jsonl").read_text().splitlines()]
    full = work / "full"
    if store.current_version(full) is None:
        indexing.build(full, [data / "articles.jsonl"])
    rotations = []
    for r in range(ROTATIONS):
        out = {a["id"] for i, a in enumerate(articles) if i % ROTATIONS == r}
        folder = work / f"rotation-{r}"
        if store.current_version(folder) is None:
            shutil.copytree(full, folder)
            subset = work / f"rotation-{r}.jsonl"
            subset.write_text("".join(json.dumps(a) + "\n" for a in articles if a["id"] not in out))
            indexing.build(folder, [subset])
        rotations.append((folder, out))
    return full, rotations


def is_right(hit: search.Hit, q: Question) -> bool:
    return (hit.passage.article_id, hit.passage.paragraph) == (q.article_id, q.paragraph)


def rerank_data(
    index: store.Index, questions: list[Question], vectors: np.ndarray
) -> list[tuple[Question, list[dict[str, float]], list[bool]]]:
    rows = []
    for q, vector in zip(questions, vectors, strict=True):
        query = search.evidence.analyse(q.question, search.frequencies(index))
        hits = search.first_stage(index, q.question, vector=vector)[: search.RERANKED]
        rows.append((q, [search.features(query, h) for h in hits], [is_right(h, q) for h in hits]))
    return rows


def fit(x: np.ndarray, y: np.ndarray, intercept: bool = True) -> LogisticRegression:
    return LogisticRegression(C=1.0, max_iter=3000, fit_intercept=intercept).fit(x, y)


def pairs(data: list[Any], names: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Pairwise differences (right paragraph minus each wrong one, and the reverse)."""
    x, y = [], []
    for _, feats, labels in data:
        right = [f for f, label in zip(feats, labels, strict=True) if label]
        for f, label in zip(feats, labels, strict=True):
            if right and not label:
                d = np.array([right[0][n] - f[n] for n in names])
                x += [d, -d]
                y += [1, 0]
    return np.array(x), np.array(y)


def fit_reranker(data: list[Any]) -> dict[str, float]:
    """A pairwise logistic model (no intercept): its coefficients score each passage."""
    names = list(data[0][1][0])
    articles = sorted({q.article_id for q, _, _ in data})
    top1 = top5 = first1 = 0
    for held in articles:
        model = fit(*pairs([d for d in data if d[0].article_id != held], names), False)
        for _, feats, labels in (d for d in data if d[0].article_id == held):
            scores = np.array([[f[n] for n in names] for f in feats]) @ model.coef_[0]
            ranked = [labels[i] for i in np.argsort(-scores)]
            top1 += ranked[0]
            top5 += any(ranked[:5])
            first1 += labels[0]
    n = len(data)
    print(f"reranker, leave-one-article-out: top-1 {top1 / n:.3f} top-5 {top5 / n:.3f}")
    print(
        f"  (first stage alone: top-1 {first1 / n:.3f}; right paragraph among the "
        f"{search.RERANKED} reranked: {sum(any(d[2]) for d in data) / n:.3f})"
    )
    model = fit(*pairs(data, names), False)
    return dict(zip(names, (round(float(c), 3) for c in model.coef_[0]), strict=True))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path("../shared/eval/squad_dev8"))
    parser.add_argument("--work", type=Path, default=Path("/tmp/quotebot-fit"))
    args = parser.parse_args()
    full, rotations = build_indexes(args.data, args.work)
    questions = read_questions(args.data / "questions.jsonl")
    vectors = embedding.encode([q.question for q in questions])
    index = store.open_index(full)
    weights = fit_reranker(rerank_data(index, questions, vectors))
    print("search.RERANK_WEIGHTS =", weights)


if __name__ == "__main__":
    main()
