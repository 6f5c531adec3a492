"""Whether the articles answer at all (found), and how likely the short answer is right
(answer confidence): fitted logistic models over the retrieval and reader evidence."""

from __future__ import annotations

import math
import re
from typing import Any

from quotebot.answering import Reading, reader
from quotebot.retrieval import Ranking
from quotebot.storage import keywords

_NEGATION = re.compile(r"\b(not|never|no|none|nor|without)\b|n't\b", re.IGNORECASE)


def evidence_features(ranking: Ranking, reading: Reading) -> dict[str, float]:
    """What the found decision and the answer confidence weigh about a question."""
    hits = ranking.hits
    best = reading.best
    values = {
        "score": hits[0].score,
        "margin": hits[0].score - hits[1].score if len(hits) > 1 else 1.0,
        "dense": hits[0].dense,
        "unknown": ranking.query.unknown,
        "sentence": best.features["sentence_cover"] if best else 0.0,
        "passage_cover": best.features["passage_cover"] if best else 0.0,
        "span_score": best.score if best else 0.0,
        "span_probability": float(reading.probabilities[0]) if best else 0.0,
        "span_gap": best.score - reading.candidates[1].score
        if len(reading.candidates) > 1 and best
        else 0.0,
        "span_first_passage": float(best.passage == 0) if best else 0.0,
        "span_length": math.log1p(len(best.text.split())) if best else 0.0,
        "span_cloze": best.features.get("cloze", 0.0) if best else 0.0,
        "reader_probability": best.features.get("reader_probability", 0.0) if best else 0.0,
    }
    values[f"kind={reading.question.kind}"] = 1.0
    if best is not None and "type_match" in best.features:  # a kind that asks for a type
        values["typed_mass"] = float(
            sum(p for c, p in zip(reading.candidates, reading.probabilities, strict=True)
                if c.features.get("type_match"))
        )  # fmt: skip
    if best is not None:
        text = hits[best.passage].passage.text
        start, end = reading.quote
        names = reading.question.names
        total = sum(names.values()) or 1.0
        quoted, passage = set(keywords.terms(text[start:end])), set(keywords.terms(text))
        values["names_unquoted"] = sum(w for t, w in names.items() if t not in quoted) / total
        values["names_absent"] = sum(w for t, w in names.items() if t not in passage) / total
        negated = bool(_NEGATION.search(ranking.query.text))
        values["negation_differs"] = float(negated != bool(_NEGATION.search(text[start:end])))
    return values


def logistic(model: dict[str, Any], values: dict[str, float]) -> float:
    """The probability a fitted logistic model (``weights``, ``bias``) gives these features."""
    weights = model["weights"]
    z = model["bias"] + sum(weights.get(name, 0.0) * v for name, v in values.items())
    return 1.0 / (1.0 + math.exp(-max(min(z, 50.0), -50.0)))


def fitted_threshold() -> float:
    """The answer confidence at which short answers are shown, as fitted (models/reader.json)."""
    return float(reader.model()["confidence"]["threshold"])
