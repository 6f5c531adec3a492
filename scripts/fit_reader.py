"""Fit the found decision and the answer confidence over the neural reader; write
models/reader.json.

    .venv/bin/python scripts/fit_reader.py [--data ../shared/eval/squad_dev8] [--work DIR]
        [--rotation DIR DIR] [--write]

The reader itself is fitted by scripts/train_reader.py. Every figure here is of articles the
reader that read them never saw: the shipped reader's where it fitted none of squad_dev8, else
(``--rotation``) readers fitted the same way on part of squad_dev8 (``train_reader.py
--fit-dev8 ... --export --into DIR``), each article read by the one that did not fit it. The
reader alone is measured on each question's own paragraph (SQuAD v1.1's setting). The two
small models over it are fitted on
squad_dev8 and measured leave-one-article-out (the weights that score an article's questions
never saw that article):

* the found decision: a logistic model of "an indexed article answers", over the retrieval
  evidence and the reader's span and no-answer scores, with answerable questions against
  SQuAD 2.0's unanswerable questions about the same articles and questions about articles
  left out of the index (each v1.1 question asked of the rotation index that lacks its
  article); its threshold the one that answers ``--answered`` of the answerable questions;
* the answer confidence: a logistic (Platt) model of "the best span is exactly right", over
  the same features; its threshold the lowest at which ``--precision`` of the shown answers
  held out are exact.
"""

from __future__ import annotations

import argparse
import datetime
import hashlib
import json
import pickle
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.linear_model import LogisticRegression

sys.path.insert(0, str(Path(__file__).parent))

from fit_models import build_indexes  # noqa: E402

from quotebot import retrieval, storage  # noqa: E402
from quotebot.answering import READ_PASSAGES, Reading, read, reader  # noqa: E402
from quotebot.answering.decision import evidence_features, logistic  # noqa: E402
from quotebot.core import DEFAULT_K, plain_question  # noqa: E402
from quotebot.evaluation import Question, exact_match, read_questions, token_f1  # noqa: E402
from quotebot.indexing import embedding  # noqa: E402

MODEL = Path(__file__).parents[1] / "src/quotebot/models/reader.json"


@dataclass
class Row:
    """One question as the answer path saw it: its ranking and the reader's reading."""

    question: Question
    ranking: retrieval.Ranking
    reading: Reading
    kind: str  # "answerable", "impossible" or "off" (its article not indexed)
    found: bool = False  # whether the held-out found decision answers it


Readers = Callable[[str], reader.Reader]  # the reader for an article's questions (its id)


def held_out_readers(rotation: list[Path]) -> Readers:
    """For each article the reader that never fitted it: the shipped one, or (``--rotation``)
    the one of the rotation's readers whose fit left the article out.

    Raises:
        SystemExit: the shipped reader fitted squad_dev8 articles and no rotation is given,
            or no reader of the rotation left an article out.
    """
    if not rotation:
        if fitted_articles(reader.MODEL_DIR):
            raise SystemExit("the shipped reader fitted squad_dev8 articles: give --rotation")
        shipped = reader.load()
        return lambda article: shipped
    readers = [(fitted_articles(folder), reader.Reader(folder)) for folder in rotation]

    def choose(article: str) -> reader.Reader:
        for fitted, model in readers:
            if article not in fitted:
                return model
        raise SystemExit(f"every reader of the rotation fitted {article}")

    return choose


def fitted_articles(folder: Path) -> set[str]:
    """The squad_dev8 articles a reader's fit saw (its manifest's ``fitted_dev8``)."""
    fit = json.loads((folder / reader.MANIFEST_FILE).read_text()).get("fit", {})
    return {a for stage in fit.values() if isinstance(stage, dict)
            for a in stage.get("fitted_dev8", [])}  # fmt: skip


def collect(
    index: storage.Index, questions: list[Question], kind: str, readers: Readers
) -> list[Row]:
    asked = [plain_question(q.question) for q in questions]
    vectors = embedding.encode(asked)
    rows = []
    for number, (q, text, vector) in enumerate(zip(questions, asked, vectors, strict=True)):
        ranking = retrieval.rank(index, text, DEFAULT_K, vector=vector)
        rows.append(Row(q, ranking, read(ranking, model=readers(q.article_id)), kind))
        if number % 200 == 0:
            print(f"  {kind}: read {number}/{len(questions)}", file=sys.stderr)
    return rows


def scores(rows: list[Row]) -> tuple[list[float], list[float]]:
    """The exact match and token F1 of each row's best span (0 for none)."""
    pairs = [span_scores(r.reading.best, r.question.answers) for r in rows]
    return [em for em, _ in pairs], [f1 for _, f1 in pairs]


def span_scores(span: reader.Candidate | None, answers: tuple[str, ...]) -> tuple[float, float]:
    """A span's exact match and token F1 against the best of the answers (0 for no span)."""
    if span is None:
        return 0.0, 0.0
    return (max((exact_match(span.text, a) for a in answers), default=0.0),
            max((token_f1(span.text, a) for a in answers), default=0.0))  # fmt: skip


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
    parser.add_argument("--answered", type=float, default=0.87)
    parser.add_argument("--precision", type=float, default=0.85)
    parser.add_argument(
        "--rotation",
        type=Path,
        nargs="*",
        default=[],
        metavar="DIR",
        help="readers fitted on parts of squad_dev8 (train_reader.py --into)",
    )
    parser.add_argument("--reuse", action="store_true", help="the readings of the last run")
    parser.add_argument("--write", action="store_true", help="write models/reader.json")
    args = parser.parse_args()
    full, rotations = build_indexes(args.data, args.work)
    cache = args.work / "reader-rows.pkl"
    if args.reuse and cache.exists():
        rows: list[Row] = pickle.loads(cache.read_bytes())
    else:
        readers = held_out_readers(args.rotation)
        gold_em, gold_f1 = gold(args.data, readers)
        print(f"the reader given each question's own paragraph: EM {gold_em:.3f} F1 {gold_f1:.3f}")
        rows = gather(args.data, full, rotations, readers)
        cache.write_bytes(pickle.dumps(rows))
    answerable = [r for r in rows if r.kind == "answerable"]
    articles = sorted({r.question.article_id for r in answerable})
    em, f1 = scores(answerable)
    print(
        f"reader over the best {READ_PASSAGES} passages (never fitted on these articles): "
        f"EM {np.mean(em):.3f} F1 {np.mean(f1):.3f} ({len(answerable)} questions)"
    )
    features = {id(r): evidence_features(r.ranking, r.reading) for r in rows}
    found = fit_found(rows, features, articles, args)
    answered = np.array([r.found for r in answerable])
    quoted = []
    for r in answerable:
        best = r.reading.best
        text = r.ranking.hits[best.passage].passage.text if best else ""
        start, end = r.reading.quote
        quoted.append(r.found and any(a in text[start:end] for a in r.question.answers))
    print(
        f"answer path, leave-one-article-out, a declined question scoring 0: "
        f"EM {np.mean(np.array(em) * answered):.3f} F1 {np.mean(np.array(f1) * answered):.3f}"
        f"; answered questions only: EM {np.mean(np.array(em)[answered]):.3f} "
        f"F1 {np.mean(np.array(f1)[answered]):.3f}; quote holds an answer {np.mean(quoted):.3f}"
    )
    confidence = fit_confidence(answerable, features, em, articles, args)
    if args.write:
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
                        "held_out": {
                            "reader_em": round(float(np.mean(em)), 3),
                            "reader_f1": round(float(np.mean(f1)), 3),
                        },
                    },
                    "found": found,
                    "confidence": confidence,
                },
                indent=1,
                sort_keys=True,
            )
            + "\n"
        )
        print(f"wrote {MODEL}")


def gather(
    data: Path, full: Path, rotations: list[tuple[Path, set[str]]], readers: Readers
) -> list[Row]:
    """Every question the fit needs, read as the answer path reads it."""
    v1 = read_questions(data / "questions.jsonl")
    known = {q.question for q in v1}
    impossible = [
        q
        for q in read_questions(data / "squad2_questions.jsonl")
        if q.impossible and q.question not in known
    ]
    index = storage.open_index(full)
    rows = collect(index, v1, "answerable", readers)
    rows += collect(index, impossible, "impossible", readers)
    for folder, out in rotations:
        asked = [q for q in v1 if q.article_id in out]
        rows += collect(storage.open_index(folder), asked, "off", readers)
    return rows


def gold(data: Path, readers: Readers) -> tuple[float, float]:
    """The reader alone given each v1.1 question's own paragraph: EM and F1 of its best span."""
    paragraphs = {}
    for line in (data / "articles.jsonl").read_text().splitlines():
        article = json.loads(line)
        paragraphs[article["id"]] = article["paragraphs"]
    pairs = []
    for q in read_questions(data / "questions.jsonl"):
        text = paragraphs[q.article_id][q.paragraph]
        found = readers(q.article_id).read(q.question, [(0, text, 0)])
        pairs.append(span_scores(found[0] if found else None, q.answers))
    em, f1 = np.mean(pairs, axis=0)
    return float(em), float(f1)


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
