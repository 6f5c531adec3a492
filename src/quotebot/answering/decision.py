"""Whether the articles answer at all (found), and how likely the short answer is right
(answer confidence): fitted logistic models over the retrieval and reader evidence."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from functools import cache
from typing import Any

from quotebot.answering import Reading, reader
from quotebot.retrieval import FittedModelMismatch, Ranking, check_feature_names, evidence

# A negation in a question or a text (also what the reader's fitting makes questions with).
NEGATION = re.compile(r"\b(not|never|no|none|nor|without)\b|n't\b", re.IGNORECASE)


def evidence_features(ranking: Ranking, reading: Reading) -> dict[str, float]:
    """What the found decision and the answer confidence weigh about a question: how well the
    search matched, and how sure the reader is of its best span against "no answer"."""
    hits = ranking.hits
    best = reading.best
    values = {
        "score": hits[0].score,
        "margin": hits[0].score - hits[1].score if len(hits) > 1 else 1.0,
        "dense": hits[0].dense,
        "unknown": ranking.query.unknown,
    }
    values[f"kind={ranking.query.kind}"] = 1.0
    if best is None:
        values["no_span"] = 1.0
        return values
    text = hits[best.passage].passage.text
    start, end = reading.quote
    second = next((c.score for c in reading.candidates[1:] if c.passage != best.passage), None)
    values |= {
        "span_score": best.score,
        "span_gap": best.score - best.no_answer,
        "span_gap_min": best.score - reading.no_answer,
        "span_probability": float(reading.probabilities[0]),
        "span_first_passage": float(best.passage == 0),
        "span_length": math.log1p(len(best.text.split())),
        "other_passage_gap": best.score - second if second is not None else 5.0,
        "quote_unmatched": 1.0 - evidence.coverage(ranking.query, text[start:end]),
        "passage_unmatched": 1.0 - evidence.coverage(ranking.query, text),
    }
    negated = bool(NEGATION.search(ranking.query.text))
    values["negation_differs"] = float(negated != bool(NEGATION.search(text[start:end])))
    return values


def logistic(model: dict[str, Any], values: dict[str, float]) -> float:
    """The probability a fitted logistic model (``weights``, ``bias``) gives these features."""
    weights = model["weights"]
    z = model["bias"] + sum(weights.get(name, 0.0) * v for name, v in values.items())
    return 1.0 / (1.0 + math.exp(-max(min(z, 50.0), -50.0)))


def fitted_threshold() -> float:
    """The answer confidence at which short answers are shown, as fitted (models/reader.json)."""
    return float(reader.model()["confidence"]["threshold"])


@dataclass(frozen=True)
class Decision:
    """Whether to answer, and whether to show the short answer: the two fitted models'
    probabilities against their thresholds."""

    found: float  # how likely the articles answer the question
    confidence: float  # how likely the short answer is right
    found_threshold: float
    show_threshold: float

    @property
    def answers(self) -> bool:
        """Whether the articles answer (else the question is declined)."""
        return self.found >= self.found_threshold

    @property
    def shown(self) -> bool:
        """Whether the short answer is shown above the quote."""
        return self.confidence >= self.show_threshold


def decide(ranking: Ranking, reading: Reading, show_threshold: float | None = None) -> Decision:
    """The found decision and the answer confidence for a question whose reader found a span.

    Args:
        ranking: The ranked passages.
        reading: What the reader found in them (``reading.best`` is not None).
        show_threshold: The confidence at which the short answer is shown; defaults to the
            fitted one.

    Raises:
        FittedModelMismatch: ``models/reader.json`` weighs other features than the code gives.
    """
    values = evidence_features(ranking, reading)
    check_features(frozenset(values))
    model = reader.model()
    return Decision(
        logistic(model["found"], values),
        logistic(model["confidence"], values),
        float(model["found"]["threshold"]),
        fitted_threshold() if show_threshold is None else show_threshold,
    )


@cache
def check_features(names: frozenset[str]) -> None:
    """Refuse ``models/reader.json`` when its found and confidence models weigh other
    features than the code computes (a renamed one would otherwise weigh 0); checked once
    for each set of names a question gives (they differ only in the question's kind).

    Raises:
        FittedModelMismatch: naming the features only one side knows.
    """
    model = reader.model()
    for decision in ("found", "confidence"):
        weighed = set(model[decision]["weights"])
        kinds = {name for name in weighed if name.startswith("kind=")}
        asked = {name for name in names if name.startswith("kind=")}
        source = f"models/reader.json ({decision})"
        check_feature_names(source, weighed - kinds, names - asked)
        if not asked <= kinds:
            raise FittedModelMismatch(
                f"{source} has no weight for the question kind {', '.join(sorted(asked))}; "
                "refit it (scripts/fit_reader.py --write)"
            )
