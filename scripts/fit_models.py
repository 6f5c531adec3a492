"""Fit the second-stage reranker on squad_dev8 and print its coefficients for retrieval.py.

    .venv/bin/python scripts/fit_models.py [--data ../shared/eval/squad_dev8] [--work DIR]

A pairwise logistic model over a handful of lexical features (retrieval.RERANK_WEIGHTS): "is
this candidate the right paragraph". The reader, the found decision and the answer confidence
are fitted by scripts/fit_reader.py, which also uses ``build_indexes`` from here.

Reported figures are cross-validated by held-out article. Needs scikit-learn (installed with
sentence-transformers).
"""

from __future__ import annotations

import argparse
import datetime
import hashlib
import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.linear_model import LogisticRegression

from quotebot import embedding, indexing, retrieval, storage
from quotebot.evaluation import Question, read_questions

ROTATIONS = 4
MODEL = Path(__file__).parents[1] / "src/quotebot/models/rerank.json"


def build_indexes(data: Path, work: Path) -> tuple[Path, list[tuple[Path, set[str]]]]:
    """The full index and one index per rotation (vectors reused, nothing embedded twice)."""
    articles = [json.loads(line) for line in (data / "articles.jsonl").read_text().splitlines()]
    full = work / "full"
    if storage.current_version(full) is None:
        indexing.build(full, [data / "articles.jsonl"])
    rotations = []
    for r in range(ROTATIONS):
        out = {a["id"] for i, a in enumerate(articles) if i % ROTATIONS == r}
        folder = work / f"rotation-{r}"
        if storage.current_version(folder) is None:
            shutil.copytree(full, folder)
            subset = work / f"rotation-{r}.jsonl"
            subset.write_text("".join(json.dumps(a) + "\n" for a in articles if a["id"] not in out))
            indexing.build(folder, [subset])
        rotations.append((folder, out))
    return full, rotations


def is_right(hit: retrieval.Hit, q: Question) -> bool:
    return (hit.passage.article_id, hit.passage.paragraph) == (q.article_id, q.paragraph)


def rerank_data(
    index: storage.Index, questions: list[Question], vectors: np.ndarray
) -> list[tuple[Question, list[dict[str, float]], list[bool]]]:
    rows = []
    for q, vector in zip(questions, vectors, strict=True):
        query = retrieval.evidence.analyse(q.question, index)
        hits = retrieval.first_stage(index, q.question, vector=vector)[: retrieval.RERANKED]
        rows.append(
            (q, [retrieval.features(query, h) for h in hits], [is_right(h, q) for h in hits])
        )
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


def fit_reranker(data: list[Any]) -> tuple[dict[str, float], dict[str, float]]:
    """A pairwise logistic model (no intercept): its coefficients score each passage; with
    the leave-one-article-out paragraph top-1 and top-5 among the reranked."""
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
        f"{retrieval.RERANKED} reranked: {sum(any(d[2]) for d in data) / n:.3f})"
    )
    model = fit(*pairs(data, names), False)
    weights = dict(zip(names, (round(float(c), 3) for c in model.coef_[0]), strict=True))
    return weights, {"top1": round(top1 / n, 3), "top5": round(top5 / n, 3)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path("../shared/eval/squad_dev8"))
    parser.add_argument("--work", type=Path, default=Path("/tmp/quotebot-fit"))
    parser.add_argument("--write", action="store_true", help="write models/rerank.json")
    args = parser.parse_args()
    full, rotations = build_indexes(args.data, args.work)
    questions = read_questions(args.data / "questions.jsonl")
    vectors = embedding.encode([q.question for q in questions])
    index = storage.open_index(full)
    weights, held_out = fit_reranker(rerank_data(index, questions, vectors))
    print("weights:", json.dumps(weights))
    if args.write:
        digest = hashlib.sha256()
        for name in ("articles.jsonl", "questions.jsonl"):
            digest.update((args.data / name).read_bytes())
        fitted = {
            "by": "scripts/fit_models.py " + " ".join(sys.argv[1:]),
            "on": f"squad_dev8 (sha256 of its files {digest.hexdigest()[:16]})",
            "commit": _commit(),
            "date": datetime.date.today().isoformat(),
            "held_out": held_out,
        }
        text = json.dumps({"fitted": fitted, "weights": weights}, indent=1, sort_keys=True)
        MODEL.write_text(text + "\n")
        print(f"wrote {MODEL}")


def _commit() -> str:
    """The commit the fit ran on (with +changes when the tree differed from it)."""
    root = Path(__file__).parents[1]
    head = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=root, capture_output=True, text=True
    )
    dirty = subprocess.run(
        ["git", "status", "--porcelain", "src"], cwd=root, capture_output=True, text=True
    )
    return head.stdout.strip() + ("+changes" if dirty.stdout.strip() else "")


if __name__ == "__main__":
    main()
