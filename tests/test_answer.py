"""Asking the sample index: the right paragraph, the quote, and knowing when not to answer."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.auxil.corpus import lighthouse, write_article
from tests.conftest import ARTICLES, SEED_ARTICLE_ID, read_jsonl

from quotebot import answer, indexing
from quotebot.cli import answer_json
from quotebot.core import Engine
from quotebot.evaluation import exact_match

SEED_QUESTIONS = [
    ("How far is Agadez from Niamey?", "500 miles", 1),
    ("Who is the Kremlin spokesperson?", "Dmitry Peskov", 2),
    ("When was the coup in Niger?", "July 2023", 3),
]

OFF_CORPUS = [
    "What is the boiling point of water at sea level?",
    "Who wrote Pride and Prejudice?",
    "How do I bake sourdough bread?",
]


@pytest.mark.parametrize(("question", "expected", "paragraph"), SEED_QUESTIONS)
def test_seed_questions_quote_the_right_paragraph(
    engine: Engine, question: str, expected: str, paragraph: int
) -> None:
    result = engine.answer(question)
    assert result.found
    top = result.passages[0].passage
    assert (top.article_id, top.paragraph) == (SEED_ARTICLE_ID, paragraph)
    assert expected in result.quote
    assert result.quote in top.text
    assert result.answer in result.quote


# The sample article's questions of the reader issue: the short answer is either right or not
# shown (no bold line), and the shown answer always lies in the quote. As in SQuAD, a question
# may have more than one right answer ("1,000" troops is right; the quote says "nearly").
SHORT_ANSWERS = [
    ("How far is Agadez from Niamey?", "500 miles"),
    ("Who is the Kremlin spokesperson?", "Dmitry Peskov"),
    ("When was the coup in Niger?", "July 2023"),
    ("How many U.S. troops are still in Niger?", ("nearly 1,000", "1,000")),
    ("Who spoke for the Kremlin?", "Dmitry Peskov"),
    ("When did the coup in Niger happen?", "July 2023"),
    ("Which Russian company did Niger turn to for security help?", "Wagner Group"),
]


WRONG_PARAGRAPH = pytest.mark.xfail(
    reason="the search puts the October paragraph (the U.S. labelled the takeover a coup) "
    "first, and the reader reads only the best passage"
)


@pytest.mark.parametrize(
    ("question", "expected"),
    [pytest.param(*q, marks=WRONG_PARAGRAPH) if "happen" in q[0] else q for q in SHORT_ANSWERS],
)
def test_a_shown_short_answer_is_right_and_inside_the_quote(
    engine: Engine, question: str, expected: str | tuple[str, ...]
) -> None:
    result = engine.answer(question)
    assert result.found
    assert result.quote in result.passages[0].passage.text
    start = result.answer_start
    assert result.quote[start : start + len(result.answer)] == result.answer
    assert 0.0 <= result.answer_confidence <= 1.0
    if result.answer_shown:
        right = (expected,) if isinstance(expected, str) else expected
        assert result.answer.removeprefix("the ") in right


def test_the_threshold_zero_shows_every_span_and_one_none(sample_index: Path) -> None:
    always, never = Engine(sample_index, show_threshold=0.0), Engine(sample_index, 1.0)
    for question, _ in SHORT_ANSWERS:
        shown, hidden = always.answer(question), never.answer(question)
        assert shown.answer_shown == shown.found and not hidden.answer_shown
        assert shown.answer == hidden.answer  # the span stays for programs and evaluation


def test_seed_questions_file(engine: Engine, shared: Path) -> None:
    for item in read_jsonl(shared / "seed" / "questions.jsonl"):
        result = engine.answer(item["question"])
        top = result.passages[0].passage
        assert (top.article_id, top.paragraph) == (item["article_id"], item["paragraph_index"])
        assert any(a in result.quote for a in item["answers"]), (item, result.quote)
        assert any(exact_match(result.answer, a) for a in item["answers"]), (item, result.answer)


@pytest.mark.parametrize("question", OFF_CORPUS)
def test_off_corpus_questions_are_declined(engine: Engine, question: str) -> None:
    result = engine.answer(question)
    assert not result.found
    assert result.quote == "" and result.answer == ""
    assert len(result.passages) == 5  # the nearest passages are still listed


def test_json_shape(engine: Engine) -> None:
    data = answer_json(engine.answer("How far is Agadez from Niamey?", k=3))
    assert set(data) == {
        "question",
        "found",
        "answer",
        "answer_confidence",
        "answer_shown",
        "quote",
        "searched_as",
        "passages",
    }
    assert len(data["passages"]) == 3
    first = data["passages"][0]
    assert set(first) == {
        "article_id",
        "title",
        "url",
        "published",
        "paragraph",
        "text",
        "part",
        "score",
    }
    scores = [p["score"] for p in data["passages"]]
    assert scores == sorted(scores, reverse=True)


def test_module_level_answer(sample_index: Path) -> None:
    result = answer("How far is Agadez from Niamey?", index_dir=sample_index)
    assert "500 miles" in result.quote


def test_empty_question_is_refused(engine: Engine) -> None:
    with pytest.raises(ValueError, match="empty"):
        engine.answer("   ")


@pytest.fixture(scope="module")
def lighthouse_engine(tmp_path_factory: pytest.TempPathFactory) -> Engine:
    folder = tmp_path_factory.mktemp("lighthouse")
    lighthouse(folder / "articles")
    indexing.build(folder / "index", [ARTICLES, folder / "articles"])
    return Engine(folder / "index")


@pytest.mark.parametrize(
    ("question", "expected", "sentence"),
    [
        ("Who designed the Ardnamurchan lighthouse?", "Alan Stevenson", "Its designer"),
        ("How tall is the lighthouse tower?", "36 metres", "The tower stands"),
        ("How many steps lead up to the lantern room?", "152", "Visitors can climb"),
        ("When was the Ardnamurchan light automated?", "1988", "The light was automated"),
        ("How much will the restoration cost?", "£2.4 million", "The board expects"),
    ],
)
def test_quote_is_the_answering_sentence_and_answer_the_span(
    lighthouse_engine: Engine, question: str, expected: str, sentence: str
) -> None:
    result = lighthouse_engine.answer(question)
    assert result.found
    assert sentence in result.quote
    assert result.quote in result.passages[0].passage.text
    assert result.answer == expected


def test_a_question_without_a_kind_gets_a_span_of_the_sentence(lighthouse_engine: Engine) -> None:
    result = lighthouse_engine.answer("What will pay for the lighthouse restoration?")
    assert result.found and "heritage grant" in result.quote
    assert result.answer in result.quote and result.answer != result.quote


@pytest.mark.parametrize(
    "question",
    [
        "Who won the football World Cup in 2018?",
        "What is the chemical formula of table salt?",
        "How many moons does Jupiter have?",
    ],
)
def test_questions_about_other_things_are_declined(
    lighthouse_engine: Engine, question: str
) -> None:
    result = lighthouse_engine.answer(question)
    assert not result.found and result.quote == ""


def test_a_paragraph_that_refers_back_to_its_headline_answers(tmp_path: Path) -> None:
    # The paragraph says "The work", the headline what the work was: the reader reads the
    # title before the paragraph, and takes no answer from it.
    write_article(
        tmp_path / "articles",
        "port",
        "Port of Valdera reopens after six-month dredging project",
        "The Port of Valdera reopened to container ships on Monday after a six-month dredging "
        "project that deepened its main channel from 12 to 16 metres, harbour officials said.",
        "The work cost 84 million euros and was paid for largely by the regional government of "
        "Castellmar, with the European Union covering about a quarter of the bill.",
        "Port traffic fell by 31 percent during the closure, according to the port authority.",
    )
    indexing.build(tmp_path / "index", [tmp_path / "articles"])
    result = Engine(tmp_path / "index").answer("How much did the dredging cost?")
    assert result.found and result.answer == "84 million euros", (result.answer, result.quote)
    assert result.quote.startswith("The work cost 84 million euros")
    assert result.quote in result.passages[0].passage.text


@pytest.fixture(scope="module")
def sample_and_news(tmp_path_factory: pytest.TempPathFactory) -> Engine:
    """The sample article beside the three of tests/conversations, in one index."""
    index_dir = tmp_path_factory.mktemp("sample-and-news") / "index"
    news = sorted((Path(__file__).parent / "conversations").glob("*.txt"))
    indexing.build(index_dir, [ARTICLES, *news])
    return Engine(index_dir)


def test_a_passage_the_search_ranks_far_lower_is_not_read_for_an_answer(
    sample_and_news: Engine,
) -> None:
    # The reader finds no age in Peskov's paragraph; the marathon paragraph, a distant second,
    # says "Chepkoech, who is 26", which is no answer about him.
    result = sample_and_news.answer("How old is Dmitry Peskov?")
    assert not result.found and not result.answer_shown, (result.answer, result.quote)


def test_the_quote_leaves_out_sentences_that_do_not_answer(engine: Engine) -> None:
    result = engine.answer("Who is the Kremlin spokesperson?")
    assert result.quote.startswith("Dmitry Peskov, a spokesperson for the Kremlin")
    assert result.quote.endswith("including military cooperation.")


def test_an_index_with_every_article_removed_answers_nothing(tmp_path: Path) -> None:
    index_dir = tmp_path / "index"
    indexing.build(index_dir, [ARTICLES])
    indexing.remove(index_dir, [SEED_ARTICLE_ID])
    result = Engine(index_dir).answer("How far is Agadez from Niamey?")
    assert not result.found and result.passages == []


@pytest.mark.parametrize(
    "question",
    [
        pytest.param(
            "How many Russian soldiers are at the base?",  # the 1,000 are U.S. soldiers
            marks=pytest.mark.xfail(strict=True, reason="issue 10: not declined yet"),
        ),
        "How long have U.S. troops been in Agadez?",  # 500 miles is a distance
        "How many people live in Agadez?",
    ],
)
def test_what_the_article_does_not_say_is_declined(engine: Engine, question: str) -> None:
    result = engine.answer(question)
    assert not result.found, result.answer


def test_a_sentence_opening_word_is_no_name(engine: Engine) -> None:
    result = engine.answer("Who is the president of Niger?")
    assert result.answer not in {"Despite", "In", "Following", "October"}


@pytest.mark.parametrize(
    "question",
    [
        "How far is Agadez from Niamey? " * 32,  # 992 characters, just under the limit
        "?",
        "Agadez",
        "🙂 " * 50,
    ],
)
def test_odd_questions_are_answered_or_declined_cleanly(engine: Engine, question: str) -> None:
    result = engine.answer(question)
    assert result.found in (True, False)
    if result.found:
        assert result.answer in result.quote and result.quote in result.passages[0].passage.text


def test_a_question_past_the_limit_is_refused_in_one_line(engine: Engine) -> None:
    with pytest.raises(ValueError, match="the question is too long"):
        engine.answer("How far is Agadez from Niamey? " * 160)  # ~5,000 characters


@pytest.mark.parametrize(
    "question",
    [
        "who coaches Faith Chepkoech?",
        "hey, who coaches Faith Chepkoech?",
        "hey who coaches Faith Chepkoech?",
        "@quotebot who coaches Faith Chepkoech?",
    ],
)
def test_the_answer_in_the_second_passage_is_found(news: Engine, question: str) -> None:
    """The paragraph that names her in full comes first; the one that says who coaches her,
    second: the reader finds nothing in the first and reads the second."""
    result = news.answer(question)
    assert result.found, question
    assert "coached by the former Olympic steeplechaser Patrick Sang" in result.quote
    assert not result.answer_shown or result.answer.endswith("Patrick Sang")
