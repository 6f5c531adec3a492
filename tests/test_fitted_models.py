"""Fitted weights (src/quotebot/models/*.json) name the features the code computes; a
feature renamed, added or dropped since the fit fails loudly instead of weighing 0."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

import pytest

from quotebot import retrieval
from quotebot.answering import decision, reader
from quotebot.core import Engine
from quotebot.retrieval import FittedModelMismatch, check_feature_names


def test_the_shipped_weights_match_the_code(engine: Engine) -> None:
    assert set(retrieval.rerank_weights()) == set(retrieval.RERANK_FEATURES)
    ranking = retrieval.rank(engine.index, "How far is Agadez from Niamey?")
    assert set(retrieval.features(ranking.query, ranking.hits[0])) == set(retrieval.RERANK_FEATURES)
    assert engine.answer("How far is Agadez from Niamey?").found  # the decisions' names match


def test_a_renamed_feature_is_named_in_the_error() -> None:
    with pytest.raises(FittedModelMismatch) as caught:
        check_feature_names("models/rerank.json", {"dense", "title"}, {"dense", "heading"})
    assert "does not compute (title)" in str(caught.value)
    assert "does not weigh (heading)" in str(caught.value)


@pytest.fixture
def renamed(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """reader.json as if fitted before ``span_gap`` was given another name."""
    fitted: dict[str, Any] = copy.deepcopy(reader.model())
    for name in ("found", "confidence"):
        weights = fitted[name]["weights"]
        weights["span_margin"] = weights.pop("span_gap")
    monkeypatch.setattr(reader, "model", lambda: fitted)
    decision.check_features.cache_clear()
    yield
    decision.check_features.cache_clear()


@pytest.mark.usefixtures("renamed")
def test_decisions_refuse_weights_of_a_renamed_feature(engine: Engine) -> None:
    with pytest.raises(FittedModelMismatch, match=r"span_margin.*span_gap"):
        engine.answer("How far is Agadez from Niamey?")
