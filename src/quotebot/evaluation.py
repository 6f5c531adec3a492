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

from quotebot import embedding, store
from quotebot.answer import Answer, answer_with
from quotebot.articles import read_sources
from quotebot.search import MODES, Mode

Progress = Callable[[int, int], None]
"""Told (done, total) questions as the evaluation goes on."""

MRR_DEPTH = 10


@dataclass(frozen=True)
class Question:
    """One question with its accepted answers and where the answer is."""

    question: str
    answers: tuple[str, ...]
    article_id: str
    paragraph: int


@dataclass
class Scores:
    """The figures of one retrieval mode over a question set (shares between 0 and 1)."""

    mode: str
    questions: int = 0
    top1: float = 0.0
    top5: float = 0.0
    mrr: float = 0.0
    quote_contains: float = 0.0
    exact_match: float = 0.0
    f1: float = 0.0
    answered: float | None = 0.0
    held_out: int = 0
    declined: float | None = None


@dataclass
class Report:
    """Every mode's scores, and the answers of our own mode for a closer look."""

    scores: list[Scores]
    answers: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """The JSON shape of ``quotebot eval --json``."""
        return {"scores": [asdict(s) for s in self.scores]}


def read_questions(path: Path) -> list[Question]:
    """Read a question file (JSON lines); raises ValueError naming the line at fault."""
    questions = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
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
                )
            )
        except (ValueError, KeyError, TypeError) as error:
            raise ValueError(f"{path}, line {number}: not a question ({error})") from error
    return questions


def article_ids(path: Path) -> set[str]:
    """The ids of the articles in a file, read as ``quotebot index build`` reads them."""
    read = read_sources([path])
    if read.errors:
        raise ValueError(str(read.errors[0]))
    return {a.id for a in read.articles}


def normalize(text: str) -> str:
    """SQuAD's answer normalisation: lower case, no punctuation, articles or extra spaces."""
    text = "".join(c for c in text.lower() if c not in set(string.punctuation))
    text = re.sub(r"\b(a|an|the)\b", " ", text)
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
    index: store.Index,
    questions: Sequence[Question],
    held_out: Sequence[Question] = (),
    modes: Sequence[Mode] = MODES,
    progress: Progress | None = None,
) -> Report:
    """Ask every question in every mode and score the answers.

    Args:
        index: The opened index holding the in-corpus articles.
        questions: Questions about indexed articles.
        held_out: Questions about articles that are not indexed (to be declined).
        modes: Retrieval modes to compare; the first is ours.
        progress: Told (done, total) questions.
    """
    asked = [*questions, *held_out]
    vectors = embedding.encode([q.question for q in asked])
    sums = {mode: Scores(mode, len(questions), held_out=len(held_out)) for mode in modes}
    declined = dict.fromkeys(modes, 0)
    report = Report(list(sums.values()))
    for number, (item, vector) in enumerate(zip(asked, vectors, strict=True)):
        for mode in modes:
            result = answer_with(index, item.question, MRR_DEPTH, mode=mode, vector=vector)
            if number >= len(questions):
                declined[mode] += not result.found
                continue
            _add(sums[mode], item, result)
            if mode == modes[0]:
                report.answers.append(_record(item, result))
        if progress:
            progress(number + 1, len(asked))
    for mode, scores in sums.items():
        _average(scores)
        if mode != "hybrid":
            scores.answered = None  # only our mode decides whether to answer
        elif held_out:
            scores.declined = declined[mode] / len(held_out)
    return report


def _add(scores: Scores, item: Question, result: Answer) -> None:
    ranks = [
        rank
        for rank, hit in enumerate(result.passages, start=1)
        if (hit.passage.article_id, hit.passage.paragraph) == (item.article_id, item.paragraph)
    ]
    rank = ranks[0] if ranks else 0
    scores.top1 += rank == 1
    scores.top5 += 0 < rank <= 5
    scores.mrr += 1 / rank if rank else 0.0
    scores.answered = (scores.answered or 0.0) + result.found
    if result.found and item.answers:
        scores.quote_contains += any(a in result.quote for a in item.answers)
        scores.exact_match += max(exact_match(result.answer, a) for a in item.answers)
        scores.f1 += max(token_f1(result.answer, a) for a in item.answers)


def _average(scores: Scores) -> None:
    n = max(scores.questions, 1)
    for name in ("top1", "top5", "mrr", "quote_contains", "exact_match", "f1", "answered"):
        setattr(scores, name, (getattr(scores, name) or 0.0) / n)


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
        "token F1 (SQuAD); share answered; share of held-out questions declined",
    )
    for name in ["mode", "questions", "top-1", "top-5", "MRR", "quote", "EM", "F1"]:
        result.add_column(name, justify="left" if name == "mode" else "right")
    result.add_column("answered", justify="right")
    result.add_column("declined", justify="right")
    for s in scores:
        shares = [s.top1, s.top5, s.mrr, s.quote_contains, s.exact_match, s.f1]
        answered = "—" if s.answered is None else f"{s.answered:.3f}"
        declined = "—" if s.declined is None else f"{s.declined:.3f} of {s.held_out}"
        result.add_row(s.mode, str(s.questions), *(f"{v:.3f}" for v in shares), answered, declined)
    return result
