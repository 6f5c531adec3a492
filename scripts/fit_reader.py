"""Fit the reader, the found decision and the answer confidence; write models/reader.json.

    .venv/bin/python scripts/fit_reader.py [--data ../shared/eval/squad_dev8] [--work DIR]

Four models, each fitted on squad_dev8 and measured leave-one-article-out (the weights that
score an article's questions never saw that article):

* the reader's candidate weights: a conditional logit (a softmax over one question's
  candidate spans, L2-regularised, L-BFGS) of "this span is an accepted answer" (SQuAD's
  normalisation), over the spans of the best passages the search finds for every v1.1
  question in the index of all 8 articles;
* the check by meaning: a conditional logit over the reader's best ``meaning.CHECKED``
  candidates (their held-out reader score and the cloze cosine, see answering/meaning.py);
* the found decision: a logistic model of "an indexed article answers", over the retrieval
  evidence and the reader's scores, with answerable questions against SQuAD 2.0's
  unanswerable questions about the same articles and questions about articles left out of
  the index (each v1.1 question asked of the rotation index that lacks its article); its
  threshold the one that answers ``--answered`` of the answerable questions held out;
* the answer confidence: a logistic (Platt) model of "the best span is exactly right", over
  the same features, fitted on the reader's leave-one-article-out answers; its threshold the
  lowest at which ``--precision`` of the shown answers are exact.
"""

from __future__ import annotations

import argparse
import datetime
import hashlib
import json
import pickle
import sys
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
from scipy import optimize, sparse
from sklearn.linear_model import LogisticRegression

sys.path.insert(0, str(Path(__file__).parent))

from fit_models import build_indexes  # noqa: E402

from quotebot import (
    retrieval,  # noqa: E402
    storage,  # noqa: E402
)
from quotebot.answering import (  # noqa: E402
    READ_PASSAGES,
    meaning,
    propose,
    reader,
    reading_of,
)
from quotebot.answering.decision import evidence_features, logistic  # noqa: E402
from quotebot.core import DEFAULT_K  # noqa: E402
from quotebot.evaluation import Question, exact_match, read_questions, token_f1  # noqa: E402
from quotebot.indexing import embedding  # noqa: E402

MODEL = Path(__file__).parents[1] / "src/quotebot/models/reader.json"


@dataclass
class Row:
    """One question as the answer path saw it: its ranking and every candidate span."""

    question: Question
    ranking: retrieval.Ranking
    analysed: reader.Question
    candidates: list[reader.Candidate]
    kind: str  # "answerable", "impossible" or "off" (its article not indexed)
    found: bool = False  # whether the held-out found decision answers it


def collect(index: storage.Index, questions: list[Question], kind: str) -> list[Row]:
    vectors = embedding.encode([q.question for q in questions])
    rows = []
    for number, (q, vector) in enumerate(zip(questions, vectors, strict=True)):
        ranking = retrieval.rank(index, q.question, DEFAULT_K, vector=vector)
        analysed, found = propose(ranking)
        rows.append(Row(q, ranking, analysed, found, kind))
        if number % 200 == 0:
            print(f"  {kind}: read {number}/{len(questions)}", file=sys.stderr)
    return rows


class Data:
    """Candidates as one sparse matrix, grouped by question, with their labels."""

    def __init__(self, rows: list[Row], names: list[str]):
        column = {name: i for i, name in enumerate(names)}
        data, cols, indptr, groups = [], [], [0], [0]
        for row in rows:
            for c in row.candidates:
                for name, value in c.features.items():
                    if name in column and value:
                        cols.append(column[name])
                        data.append(value)
                indptr.append(len(cols))
            groups.append(len(indptr) - 1)
        self.x = sparse.csr_matrix((data, cols, indptr), shape=(len(indptr) - 1, len(names)))
        self.y = np.concatenate([exact(r) for r in rows] or [np.zeros(0)])
        self.groups = np.array(groups)


def exact(row: Row) -> np.ndarray:
    """Each candidate's exact match against the accepted answers."""
    answers = row.question.answers
    return np.array(
        [max((exact_match(c.text, a) for a in answers), default=0.0) for c in row.candidates]
    )


def fit_spans(data: Data, l2: float) -> np.ndarray:
    """The conditional logit's weights: right candidates' share of the softmax, maximised."""
    keep = [
        (s, e) for s, e in zip(data.groups[:-1], data.groups[1:], strict=True) if data.y[s:e].any()
    ]
    rows = np.concatenate([np.arange(s, e) for s, e in keep])
    x, y = data.x[rows], data.y[rows] > 0
    sizes = np.array([e - s for s, e in keep])
    offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    group = np.repeat(np.arange(len(keep)), sizes)

    def loss(w: np.ndarray) -> tuple[float, np.ndarray]:
        scores = x @ w
        scores = scores - np.maximum.reduceat(scores, offsets)[group]
        p = np.exp(scores)
        q = np.where(y, p, 0.0)
        p_sum, q_sum = np.add.reduceat(p, offsets), np.add.reduceat(q, offsets)
        total = l2 * float(w @ w) - float(np.sum(np.log(q_sum) - np.log(p_sum)))
        coef = p / p_sum[group] - q / q_sum[group]
        return total, 2 * l2 * w + x.T @ coef

    result = optimize.minimize(
        loss, np.zeros(data.x.shape[1]), jac=True, method="L-BFGS-B", options={"maxiter": 500}
    )
    return np.asarray(result.x)


def rescored(row: Row, weights: dict[str, float]) -> list[reader.Candidate]:
    """The row's candidates, best first, had the reader used these weights."""
    found = [
        replace(c, score=sum(weights.get(n, 0.0) * v for n, v in c.features.items()))
        for c in row.candidates
    ]
    return sorted(found, key=lambda c: -c.score)


def checked(row: Row, found: list[reader.Candidate], cloze: np.ndarray) -> Row:
    """The row with only its best candidates, each with the two features of the check by
    meaning (its reader score and its cloze cosine)."""
    top = [
        replace(c, features={"score": c.score, "cloze": float(s)})
        for c, s in zip(found[: meaning.CHECKED], cloze, strict=True)
    ]
    return replace(row, candidates=top)


def cloze_cosines(
    rows: list[Row], found: dict[int, list[reader.Candidate]], cache: Path
) -> dict[int, np.ndarray]:
    """The cloze cosine of each row's best candidates (the check by meaning), remembered in
    ``cache`` by question and cloze text."""
    known: dict[tuple[str, str], float] = pickle.loads(cache.read_bytes()) if cache.exists() else {}
    out = {}
    for number, r in enumerate(rows):
        texts = [h.passage.text for h in r.ranking.hits[:READ_PASSAGES]]
        top = found[id(r)][: meaning.CHECKED]
        keys = [(r.ranking.query.text, t) for t in meaning.clozes(r.analysed.kind, texts, top)]
        if not all(key in known for key in keys):
            cosines = meaning.cloze(r.ranking.query.text, r.analysed.kind, texts, top)
            known.update(zip(keys, cosines.tolist(), strict=True))
        out[id(r)] = np.array([known[key] for key in keys])
        if number % 500 == 0:
            print(f"  cloze: {number}/{len(rows)}", file=sys.stderr)
    cache.write_bytes(pickle.dumps(known))
    return out


def scores(
    rows: list[Row], best: dict[int, reader.Candidate | None]
) -> tuple[list[float], list[float]]:
    """The exact match and token F1 of each row's best candidate (0 for none)."""
    em, f1 = [], []
    for r in rows:
        span, answers = best[id(r)], r.question.answers
        em.append(max((exact_match(span.text, a) for a in answers), default=0.0) if span else 0.0)
        f1.append(max((token_f1(span.text, a) for a in answers), default=0.0) if span else 0.0)
    return em, f1


def to_weights(names: list[str], w: np.ndarray) -> dict[str, float]:
    return {n: round(float(v), 4) for n, v in zip(names, w, strict=True) if abs(v) > 1e-4}


def logistic_fit(x: list[dict[str, float]], y: list[float], c: float = 1.0) -> dict[str, Any]:
    names = sorted({n for values in x for n in values})
    matrix = np.array([[values.get(n, 0.0) for n in names] for values in x])
    model = LogisticRegression(C=c, max_iter=5000).fit(matrix, np.array(y) > 0)
    return {"weights": to_weights(names, model.coef_[0]), "bias": float(model.intercept_[0])}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path("../shared/eval/squad_dev8"))
    parser.add_argument("--work", type=Path, default=Path("/tmp/quotebot-fit"))
    parser.add_argument("--l2", type=float, default=3.0)
    parser.add_argument("--l2-check", type=float, default=0.5)
    parser.add_argument("--answered", type=float, default=0.82)
    parser.add_argument("--precision", type=float, default=0.82)
    parser.add_argument("--reuse", action="store_true", help="the candidates of the last run")
    parser.add_argument("--write", action="store_true", help="write models/reader.json")
    args = parser.parse_args()
    full, rotations = build_indexes(args.data, args.work)
    cache = args.work / "reader-rows.pkl"
    if args.reuse and cache.exists():
        rows: list[Row] = pickle.loads(cache.read_bytes())
    else:
        rows = gather(args.data, full, rotations)
        cache.write_bytes(pickle.dumps(rows))
    answerable = [r for r in rows if r.kind == "answerable"]
    names = sorted({n for r in answerable for c in r.candidates for n in c.features})
    articles = sorted({r.question.article_id for r in answerable})

    # The reader, leave-one-article-out; each held-out article keeps the weights it was read with.
    fold: dict[str, dict[str, float]] = {}
    for held in articles:
        train = [r for r in answerable if r.question.article_id != held]
        fold[held] = to_weights(names, fit_spans(Data(train, names), args.l2))
    first = {id(r): rescored(r, fold[r.question.article_id]) for r in rows}
    oracle = np.mean([exact(r).max(initial=0) for r in answerable])
    em, f1 = scores(answerable, {i: found[0] if found else None for i, found in first.items()})
    print(
        f"reader over the best {READ_PASSAGES} passages, leave-one-article-out: "
        f"EM {np.mean(em):.3f} F1 {np.mean(f1):.3f} "
        f"(an exact answer among the candidates: {oracle:.3f}; {len(answerable)} questions)"
    )

    # The check by meaning, leave-one-article-out, over the held-out reader's best candidates.
    cloze = cloze_cosines(rows, first, args.work / "reader-cloze.pkl")
    tops = {id(r): checked(r, first[id(r)], cloze[id(r)]) for r in rows}
    check_names = ["cloze", "score"]
    check: dict[str, dict[str, float]] = {}
    for held in articles:
        train = [tops[id(r)] for r in answerable if r.question.article_id != held]
        fitted = fit_spans(Data(train, check_names), args.l2_check)
        check[held] = dict(zip(check_names, fitted.tolist(), strict=True))
    readings = {
        id(r): reading_of(
            r.ranking,
            r.analysed,
            meaning.reorder(first[id(r)], cloze[id(r)], check[r.question.article_id]),
        )
        for r in rows
    }
    best_em, best_f1 = scores(answerable, {i: reading.best for i, reading in readings.items()})
    print(
        f"checked by meaning (best {meaning.CHECKED}), leave-one-article-out: "
        f"EM {np.mean(best_em):.3f} F1 {np.mean(best_f1):.3f} (an exact answer among them: "
        f"{np.mean([exact(tops[id(r)]).max(initial=0) for r in answerable]):.3f})"
    )

    features = {id(r): evidence_features(r.ranking, readings[id(r)]) for r in rows}
    found = fit_found(rows, features, articles, args)
    answered = np.array([r.found for r in answerable])
    quoted = []
    for r in answerable:
        reading = readings[id(r)]
        best = reading.best
        text = r.ranking.hits[best.passage].passage.text if best else ""
        start, end = reading.quote
        quoted.append(r.found and any(a in text[start:end] for a in r.question.answers))
    print(
        f"answer path, leave-one-article-out, a declined question scoring 0: "
        f"EM {np.mean(np.array(best_em) * answered):.3f} "
        f"F1 {np.mean(np.array(best_f1) * answered):.3f}"
        f", quote holds an answer {np.mean(quoted):.3f}"
    )
    confidence = fit_confidence(answerable, features, best_em, articles, args)
    given_gold(answerable, fold, check, args.work / "reader-cloze.pkl")
    if args.write:
        weights = to_weights(names, fit_spans(Data(answerable, names), args.l2))
        every = fit_spans(Data([tops[id(r)] for r in answerable], check_names), args.l2_check)
        digest = hashlib.sha256()
        for name in ("articles.jsonl", "questions.jsonl", "squad2_questions.jsonl"):
            digest.update((args.data / name).read_bytes())
        MODEL.write_text(
            json.dumps(
                {
                    "fitted": {
                        "by": "scripts/fit_reader.py " + " ".join(sys.argv[1:]),
                        "on": f"squad_dev8 (sha256 of its files {digest.hexdigest()[:16]})",
                        "date": datetime.date.today().isoformat(),
                        "spacy_pipeline": reader.MODEL_PACKAGE,
                        "held_out": {
                            "reader_em": round(float(np.mean(em)), 3),
                            "reader_f1": round(float(np.mean(f1)), 3),
                            "checked_em": round(float(np.mean(best_em)), 3),
                            "checked_f1": round(float(np.mean(best_f1)), 3),
                        },
                    },
                    "meaning": to_weights(check_names, every),
                    "found": found,
                    "confidence": confidence,
                    "weights": weights,
                },
                indent=1,
                sort_keys=True,
            )
            + "\n"
        )
        print(f"wrote {MODEL}")


def given_gold(
    answerable: list[Row],
    fold: dict[str, dict[str, float]],
    check: dict[str, dict[str, float]],
    cache: Path,
) -> None:
    """Print the held-out reader's EM and F1 when it reads only the paragraph that holds the
    answer (the SQuAD paper's setting), where the search put it among the best passages."""
    rows = []
    for r in answerable:
        where = (r.question.article_id, r.question.paragraph)
        gold = [h for h in r.ranking.hits if (h.passage.article_id, h.passage.paragraph) == where]
        if gold:
            ranking = replace(r.ranking, hits=gold[:1])
            rows.append(replace(r, ranking=ranking, candidates=propose(ranking, 1)[1]))
    first = {id(r): rescored(r, fold[r.question.article_id]) for r in rows}
    cloze = cloze_cosines(rows, first, cache)
    best = {}
    for r in rows:
        found = meaning.reorder(first[id(r)], cloze[id(r)], check[r.question.article_id])
        best[id(r)] = found[0] if found else None
    em, f1 = scores(rows, best)
    print(
        f"given the paragraph that holds the answer ({len(rows)} of {len(answerable)} questions, "
        f"a missing one scoring 0), checked: EM {sum(em) / len(answerable):.3f} "
        f"F1 {sum(f1) / len(answerable):.3f}"
    )


def gather(data: Path, full: Path, rotations: list[tuple[Path, set[str]]]) -> list[Row]:
    """Every question the fit needs, read as the answer path reads it."""
    v1 = read_questions(data / "questions.jsonl")
    known = {q.question for q in v1}
    impossible = [
        q
        for q in read_questions(data / "squad2_questions.jsonl")
        if q.impossible and q.question not in known
    ]
    index = storage.open_index(full)
    rows = collect(index, v1, "answerable") + collect(index, impossible, "impossible")
    for folder, out in rotations:
        rows += collect(storage.open_index(folder), [q for q in v1 if q.article_id in out], "off")
    return rows


def fit_found(
    rows: list[Row], features: dict[int, dict[str, float]], articles: list[str], args: Any
) -> dict[str, Any]:
    """The found decision, by held-out article; its threshold from the held-out scores."""
    held_p: dict[int, float] = {}
    for held in articles:
        train = [r for r in rows if r.question.article_id != held]
        model = logistic_fit(
            [features[id(r)] for r in train], [r.kind == "answerable" for r in train]
        )
        for r in rows:
            if r.question.article_id == held:
                held_p[id(r)] = logistic(model, features[id(r)])

    def share(kind: str, t: float, above: bool) -> float:
        p = [held_p[id(r)] for r in rows if r.kind == kind]
        return float(np.mean([(x >= t) == above for x in p]))

    answerable = [held_p[id(r)] for r in rows if r.kind == "answerable"]
    threshold = float(np.quantile(answerable, 1 - args.answered))
    print(
        f"found decision, leave-one-article-out, threshold {threshold:.3f}: answered "
        f"{share('answerable', threshold, True):.3f} of answerable, declined "
        f"{share('impossible', threshold, False):.3f} of unanswerable and "
        f"{share('off', threshold, False):.3f} of off-corpus questions"
    )
    for target in (0.75, 0.8, 0.85, 0.9, 0.95):
        t = float(np.quantile(answerable, 1 - target))
        print(
            f"  answering {target:.2f}: declined {share('impossible', t, False):.3f} unanswerable, "
            f"{share('off', t, False):.3f} off-corpus"
        )
    model = logistic_fit([features[id(r)] for r in rows], [r.kind == "answerable" for r in rows])
    model["threshold"] = round(threshold, 3)
    for r in rows:
        r.found = held_p[id(r)] >= threshold
    return model


def fit_confidence(
    answerable: list[Row],
    features: dict[int, dict[str, float]],
    em: list[float],
    articles: list[str],
    args: Any,
) -> dict[str, Any]:
    """Platt scaling of "the best span is exact", by held-out article; the shown threshold."""
    right = {id(r): e for r, e in zip(answerable, em, strict=True)}
    held_p: dict[int, float] = {}
    for held in articles:
        train = [r for r in answerable if r.question.article_id != held]
        model = logistic_fit([features[id(r)] for r in train], [right[id(r)] for r in train])
        for r in answerable:
            if r.question.article_id == held:
                held_p[id(r)] = logistic(model, features[id(r)])
    shown_rows = [r for r in answerable if r.found]
    p = np.array([held_p[id(r)] for r in shown_rows])
    y = np.array([right[id(r)] for r in shown_rows])
    print("reliability (held out, found questions): predicted vs observed by decile")
    edges = np.quantile(p, np.linspace(0, 1, 11))
    for lo, hi in zip(edges[:-1], edges[1:], strict=True):
        inside = (p >= lo) & (p <= hi)
        print(
            f"  {lo:.2f}-{hi:.2f}: predicted {p[inside].mean():.3f} "
            f"observed {y[inside].mean():.3f} ({inside.sum()})"
        )
    threshold = 1.0
    for t in np.linspace(0.0, 1.0, 1001):
        shown = p >= t
        if shown.sum() >= 20 and y[shown].mean() >= args.precision:
            threshold = float(t)
            break
    shown = p >= threshold
    print(
        f"answer shown at confidence >= {threshold:.3f}: exact {y[shown].mean():.3f} of "
        f"shown, shown for {shown.sum() / len(answerable):.3f} of answerable questions"
    )
    model = logistic_fit([features[id(r)] for r in answerable], [right[id(r)] for r in answerable])
    model["threshold"] = round(threshold, 3)
    return model


if __name__ == "__main__":
    main()
