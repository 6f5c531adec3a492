"""Measuring answer quality on a question set (SQuAD's format): retrieval, quote, span, declining.

A question file holds one JSON object per line with ``question``, ``answers`` (the accepted
answer strings), ``article_id`` and ``paragraph_index``. Questions about articles that are
indexed are "in corpus"; questions about the held-out articles (not indexed) should be declined.
"""

from __future__ import annotations

import collections
import json
import re
import string
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from rich.table import Table

from quotebot import embedding, storage
from quotebot.answering.decision import fitted_threshold
from quotebot.core import answer_with
from quotebot.records import Answer, Hit
from quotebot.retrieval import MODES, Mode, search
from quotebot.sources import read_sources

Progress = Callable[[int, int], None]
"""Told (done, total) questions as the evaluation goes on."""

MRR_DEPTH = 10
_NO_PUNCTUATION = str.maketrans("", "", string.punctuation)
_ARTICLES = re.compile(r"\b(a|an|the)\b")


class BadInput(Exception):
    """A questions or articles file that cannot be evaluated; shown as one line."""


@dataclass(frozen=True)
class Question:
    """One question with its accepted answers and where the answer is."""

    question: str
    answers: tuple[str, ...]
    article_id: str
    paragraph: int
    impossible: bool = False  # SQuAD 2.0: the article does not answer it (no answers)


@dataclass
class Scores:
    """The figures of one retrieval mode over a question set (shares between 0 and 1).

    Only our own mode ("hybrid", the answer path) answers; the others are retrieval alone, so
    their answer figures are None.
    """

    mode: str
    questions: int = 0  # answerable questions about indexed articles
    top1: float = 0.0
    top5: float = 0.0
    mrr: float = 0.0
    quote_contains: float | None = 0.0
    exact_match: float | None = 0.0
    f1: float | None = 0.0
    answered: float | None = 0.0
    shown_precision: float | None = None  # exact among the short answers shown
    shown_coverage: float | None = None  # short answers shown / answerable questions
    impossible: int = 0  # SQuAD 2.0 questions the indexed articles do not answer
    impossible_declined: float | None = None
    held_out: int = 0  # questions about articles that are not indexed
    declined: float | None = None


@dataclass(frozen=True)
class Point:
    """Shown answers at one confidence threshold: how many are exact, how many are shown."""

    threshold: float
    precision: float | None
    coverage: float


@dataclass
class Report:
    """Every mode's scores, the shown-answer curve, and our answers for a closer look."""

    scores: list[Scores]
    curve: list[Point] = field(default_factory=list)
    threshold: float = 0.0
    answers: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """The JSON shape of ``quotebot eval --json``."""
        return {
            "scores": [asdict(s) for s in self.scores],
            "answer_threshold": self.threshold,
            "curve": [asdict(p) for p in self.curve],
        }


def read_questions(path: Path) -> list[Question]:
    """Read a question file (JSON lines); raises BadInput naming the line at fault."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as error:
        raise BadInput(
            f"{path} cannot be read: {getattr(error, 'strerror', None) or error}"
        ) from error
    questions = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
            questions.append(
                Question(
                    item["question"],
                    tuple(item.get("answers") or ()),
                    str(item["article_id"]),
                    int(item["paragraph_index"]),
                    bool(item.get("is_impossible", False)),
                )
            )
        except (ValueError, KeyError, TypeError) as error:
            raise BadInput(f"{path}, line {number}: not a question ({error})") from error
    return questions


def article_ids(path: Path) -> set[str]:
    """The ids of the articles in a file, read as ``quotebot index build`` reads them."""
    read = read_sources([path])
    if read.errors:
        raise BadInput(str(read.errors[0]))
    return {a.id for a in read.articles}


def normalize(text: str) -> str:
    """SQuAD's answer normalisation: lower case, no punctuation, articles or extra spaces."""
    text = _ARTICLES.sub(" ", text.lower().translate(_NO_PUNCTUATION))
    return " ".join(text.split())


def token_f1(prediction: str, truth: str) -> float:
    """SQuAD's token F1 between a predicted and a true answer."""
    predicted, true = normalize(prediction).split(), normalize(truth).split()
    common = collections.Counter(predicted) & collections.Counter(true)
    same = sum(common.values())
    if same == 0:
        return 0.0
    precision, recall = same / len(predicted), same / len(true)
    return 2 * precision * recall / (precision + recall)


def exact_match(prediction: str, truth: str) -> float:
    """1.0 when the answers are equal after SQuAD's normalisation."""
    return float(normalize(prediction) == normalize(truth))


def evaluate(
    index: storage.Version,
    questions: Sequence[Question],
    held_out: Sequence[Question] = (),
    modes: Sequence[Mode] = MODES,
    progress: Progress | None = None,
    show_threshold: float | None = None,
) -> Report:
    """Ask every question and score the answers; score retrieval alone in the other modes.

    Args:
        index: The opened index holding the in-corpus articles.
        questions: Questions about indexed articles, answerable or (SQuAD 2.0) not.
        held_out: Questions about articles that are not indexed (to be declined).
        modes: Retrieval modes to compare; the first, "hybrid", is the answer path's.
        progress: Told (done, total) questions.
        show_threshold: The answer confidence at which short answers are shown (default: the
            fitted one).
    """
    answerable = [q for q in questions if not q.impossible]
    impossible = [q for q in questions if q.impossible]
    asked = [*answerable, *impossible, *held_out]
    vectors = embedding.encode([q.question for q in asked])
    if show_threshold is None:
        show_threshold = fitted_threshold()
    sums = {
        mode: Scores(mode, len(answerable), impossible=len(impossible), held_out=len(held_out))
        for mode in modes
    }
    ours = sums[modes[0]]
    report = Report(list(sums.values()), threshold=show_threshold)
    confident: list[tuple[float, float]] = []  # (confidence, exact) of each found answer
    declined = [0, 0]  # impossible, held out
    for number, (item, vector) in enumerate(zip(asked, vectors, strict=True)):
        result = answer_with(
            index, item.question, MRR_DEPTH, vector=vector, show_threshold=show_threshold
        )
        if number >= len(answerable):
            declined[number >= len(answerable) + len(impossible)] += not result.found
        else:
            exact = _add(ours, item, result)
            report.answers.append(_record(item, result))
            if result.found:
                confident.append((result.answer_confidence, exact))
            for mode in modes[1:]:
                _add_ranks(
                    sums[mode],
                    item,
                    search(index, item.question, MRR_DEPTH, mode=mode, vector=vector),
                )
        if progress:
            progress(number + 1, len(asked))
    for scores in sums.values():
        _average(scores)
    for other in modes[1:]:
        scores = sums[other]
        scores.quote_contains = scores.exact_match = scores.f1 = scores.answered = None
    thresholds = sorted({round(t / 10, 1) for t in range(11)} | {show_threshold})
    report.curve = [_point(confident, t, len(answerable)) for t in thresholds]
    at = _point(confident, show_threshold, len(answerable))
    ours.shown_precision, ours.shown_coverage = at.precision, at.coverage
    if impossible:
        ours.impossible_declined = declined[0] / len(impossible)
    if held_out:
        ours.declined = declined[1] / len(held_out)
    return report


def _point(confident: list[tuple[float, float]], threshold: float, answerable: int) -> Point:
    shown = [exact for confidence, exact in confident if confidence >= threshold]
    precision = sum(shown) / len(shown) if shown else None
    return Point(threshold, precision, len(shown) / max(answerable, 1))


def _add(scores: Scores, item: Question, result: Answer) -> float:
    """Count one answer in; its exact match (0 when declined)."""
    _add_ranks(scores, item, result.passages)
    scores.answered = (scores.answered or 0.0) + result.found
    if not (result.found and item.answers):
        return 0.0
    exact = max(exact_match(result.answer, a) for a in item.answers)
    scores.quote_contains = (scores.quote_contains or 0.0) + any(
        a in result.quote for a in item.answers
    )
    scores.exact_match = (scores.exact_match or 0.0) + exact
    scores.f1 = (scores.f1 or 0.0) + max(token_f1(result.answer, a) for a in item.answers)
    return exact


def _add_ranks(scores: Scores, item: Question, hits: Sequence[Hit]) -> None:
    ranks = [
        rank
        for rank, hit in enumerate(hits, start=1)
        if (hit.passage.article_id, hit.passage.paragraph) == (item.article_id, item.paragraph)
    ]
    rank = ranks[0] if ranks else 0
    scores.top1 += rank == 1
    scores.top5 += 0 < rank <= 5
    scores.mrr += 1 / rank if rank else 0.0


def _average(scores: Scores) -> None:
    n = max(scores.questions, 1)
    for name in ("top1", "top5", "mrr", "quote_contains", "exact_match", "f1", "answered"):
        value = getattr(scores, name)
        setattr(scores, name, None if value is None else value / n)


def _record(item: Question, result: Answer) -> dict[str, Any]:
    top = result.passages[0].passage if result.passages else None
    return {
        "question": item.question,
        "answers": list(item.answers),
        "found": result.found,
        "answer": result.answer,
        "quote": result.quote,
        "right_paragraph": top is not None
        and (top.article_id, top.paragraph) == (item.article_id, item.paragraph),
    }


def table(scores: Sequence[Scores]) -> Table:
    """The scores of each retrieval mode as a table, ours first."""
    result = Table(
        title="quotebot eval",
        caption="paragraph top-1/top-5/MRR; quote holds an answer; answer exact match and "
        "token F1 (SQuAD; a declined question scores 0); share answered; short answers shown: "
        "exact among them, and shown / answerable; unanswerable questions declined; "
        "questions about held-out articles declined",
    )
    names = ["mode", "questions", "top-1", "top-5", "MRR", "quote", "EM", "F1", "answered"]
    for name in [*names, "shown exact", "shown", "unanswerable declined", "held-out declined"]:
        result.add_column(name, justify="left" if name == "mode" else "right")
    for s in scores:
        shares = [s.top1, s.top5, s.mrr, s.quote_contains, s.exact_match, s.f1, s.answered]
        shares += [s.shown_precision, s.shown_coverage]
        result.add_row(
            s.mode,
            str(s.questions),
            *(_share(v) for v in shares),
            _share(s.impossible_declined, s.impossible),
            _share(s.declined, s.held_out),
        )
    return result


def curve_table(report: Report) -> Table:
    """Shown answers over confidence thresholds, to pick one for your own articles."""
    result = Table(
        title="short answers shown, by QUOTEBOT_ANSWER_THRESHOLD",
        caption=f"in use: {report.threshold:g}",
    )
    for name in ("threshold", "shown exact", "shown / answerable"):
        result.add_column(name, justify="right")
    for point in report.curve:
        mark = " *" if point.threshold == report.threshold else ""
        result.add_row(
            f"{point.threshold:g}{mark}", _share(point.precision), _share(point.coverage)
        )
    return result


def _share(value: float | None, of: int | None = None) -> str:
    if value is None:
        return "—"
    return f"{value:.3f}" if of is None else f"{value:.3f} of {of}"
