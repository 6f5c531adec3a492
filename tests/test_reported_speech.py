"""Questions that ask what someone said ("What did Korhonen say?"): the reader finds no short
span for them, and the sentences that report the speaker's words are quoted whole; a speaker
or topic that no reporting sentence names is still declined. Real articles, index and models."""

from __future__ import annotations

import pytest

from quotebot.core import Engine


@pytest.mark.parametrize(
    ("question", "said"),
    [
        ("What did Korhonen say?", "Korhonen said construction would begin in the spring of 2027"),
        ("what did the port authority say?", "The port authority said the dredging would take"),
        ("What does Arne Solberg say?", "says the turbines will block the routes"),
        (
            "What did Helen Foster say?",  # "..., she said." goes on reporting her
            "heat exhaustion. Nobody was taken to hospital in a serious condition, she said.",
        ),
        ("What did Tom Hargreaves say about the archive?", "local history archive had been saved"),
    ],
)
def test_what_someone_said_is_quoted_whole(news: Engine, question: str, said: str) -> None:
    result = news.answer(question)
    assert result.found, question
    assert said in result.quote
    source = result.passages[0].passage
    assert result.quote in source.text  # word for word, from the passage it names
    assert not result.answer_shown


def test_what_the_sample_article_reports_peskov_said(engine: Engine) -> None:
    """'He added that ...' goes on reporting the speaker of the sentence before."""
    result = engine.answer("What did Peskov say?", explain=True)
    assert result.found and result.passages[0].passage.paragraph == 2
    assert result.quote.startswith("Dmitry Peskov, a spokesperson for the Kremlin")
    assert result.quote.endswith("and they will continue to develop.")
    assert result.explanation is not None
    assert result.explanation["decision"]["answered_by"] == "reported speech"


@pytest.mark.parametrize(
    "question",
    [
        "What did Korhonen say about the weather?",  # she is reported, never on that
        "What did Vestas say?",  # named, never reported as saying anything
        "What did the mayor of Tromsø say?",
        "What did Korhonen not say?",
    ],
)
def test_a_speaker_or_topic_not_reported_is_declined(news: Engine, question: str) -> None:
    assert not news.answer(question).found, question
