"""Fit the answer-quality models on squad_dev8 and print their coefficients for the code.

    .venv/bin/python scripts/fit_models.py [--data ../shared/eval/squad_dev8] [--work DIR]

Three small logistic models, each over a handful of lexical features (nothing per question or
per article):

* the second-stage reranker (search.RERANK_WEIGHTS): "is this candidate the right paragraph";
* the quote chooser (answer.SENTENCE_WEIGHTS): "does this sentence hold the answer";
* the decision (answer.FOUND_WEIGHTS, FOUND_BIAS): "is the question about an indexed article",
  on rotating splits that index 6 of the 8 articles and ask about all 8.

Reported figures are cross-validated: by held-out article for the reranker and the quote
chooser, by rotation for the decision. Needs scikit-learn (installed with sentence-transformers).
"""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.linear_model import LogisticRegression

from quotebot import embedding, evidence, indexing, search, store
from quotebot.answer import DEFAULT_K, choose_quote, decision_features, sentence_features
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


def fit_sentences(index: store.Index, questions: list[Question]) -> tuple[dict[str, float], float]:
    """A logistic model of "this sentence of the right paragraph holds the answer"."""
    rows = {(p.article_id, p.paragraph): p for p in index.all_passages()}
    data = []
    for q in questions:
        passage = rows[(q.article_id, q.paragraph)]
        query = evidence.analyse(q.question, search.frequencies(index))
        sentences = evidence.match_sentences(query, passage.text)
        feats = [sentence_features(s) for s in sentences]
        labels = [any(a in passage.text[s.start : s.end] for a in q.answers) for s in sentences]
        data.append((q, feats, labels))
    names = list(data[0][1][0])
    articles = sorted({q.article_id for q in questions})
    right = first = 0
    for held in articles:
        model = fit(*pairs([d for d in data if d[0].article_id != held], names), False)
        for _, feats, labels in (d for d in data if d[0].article_id == held):
            scores = np.array([[f[n] for n in names] for f in feats]) @ model.coef_[0]
            right += labels[int(np.argmax(scores))]
            first += labels[int(np.argmax([f["coverage"] for f in feats]))]
    n = len(data)
    print(f"quote sentence in the right paragraph, leave-one-article-out: {right / n:.3f}")
    print(f"  (best term coverage alone: {first / n:.3f})")
    model = fit(*pairs(data, names), False)
    weights = dict(zip(names, (round(float(c), 3) for c in model.coef_[0]), strict=True))
    return weights, right / n


def decision_data(
    rotations: list[tuple[Path, set[str]]], questions: list[Question], vectors: np.ndarray
) -> list[tuple[int, dict[str, float], bool]]:
    """(rotation, features of the best passage, asked about an indexed article) per question."""
    data = []
    for r, (folder, out) in enumerate(rotations):
        index = store.open_index(folder)
        for q, vector in zip(questions, vectors, strict=True):
            ranking = search.rank(index, q.question, DEFAULT_K, vector=vector)
            quote = choose_quote(ranking.query, ranking.hits[0])[2]
            data.append((r, decision_features(ranking, quote), q.article_id not in out))
    return data


def fit_decision(data: list[Any], answered: float) -> tuple[dict[str, float], float]:
    """The logistic decision, its bias moved so that ``answered`` of in-corpus questions pass."""
    names = list(data[0][1])

    def train(rows: list[Any]) -> tuple[np.ndarray, float]:
        x = np.array([[f[n] for n in names] for _, f, _ in rows])
        y = np.array([label for _, _, label in rows])
        model = fit(x, y)
        logits = x @ model.coef_[0]
        bias = -float(np.quantile(logits[y], 1 - answered))
        return model.coef_[0], bias

    kept = declined = inside = outside = 0
    for r in sorted({r for r, _, _ in data}):
        coef, bias = train([d for d in data if d[0] != r])
        for _, f, label in (d for d in data if d[0] == r):
            found = np.array([f[n] for n in names]) @ coef + bias > 0
            inside += label
            outside += not label
            kept += label and found
            declined += not label and not found
    print(
        f"decision, by rotation: answered {kept / inside:.3f} of {inside} in-corpus, "
        f"declined {declined / outside:.3f} of {outside} about left-out articles"
    )
    coef, bias = train(data)
    return dict(zip(names, (round(float(c), 3) for c in coef), strict=True)), round(bias, 3)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path("../shared/eval/squad_dev8"))
    parser.add_argument("--work", type=Path, default=Path("/tmp/quotebot-fit"))
    parser.add_argument("--only", choices=["rerank", "sentence", "found"], default=None)
    parser.add_argument("--answered", type=float, default=0.98)
    args = parser.parse_args()
    full, rotations = build_indexes(args.data, args.work)
    questions = read_questions(args.data / "questions.jsonl")
    vectors = embedding.encode([q.question for q in questions])
    index = store.open_index(full)
    if args.only in (None, "rerank"):
        weights = fit_reranker(rerank_data(index, questions, vectors))
        print("search.RERANK_WEIGHTS =", weights)
    if args.only in (None, "sentence"):
        print("answer.SENTENCE_WEIGHTS =", fit_sentences(index, questions)[0])
    if args.only in (None, "found"):
        found, bias = fit_decision(decision_data(rotations, questions, vectors), args.answered)
        print("answer.FOUND_WEIGHTS =", found)
        print("answer.FOUND_BIAS =", bias)


if __name__ == "__main__":
    main()
