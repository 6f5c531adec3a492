"""The second stage's reading of questions and sentences: kinds, sentences, spans."""

from __future__ import annotations

import pytest

from quotebot.retrieval.evidence import SPAN_PATTERNS, find_spans, question_kind
from quotebot.text import split_sentences


@pytest.mark.parametrize(
    ("question", "kind"),
    [
        ("When was the coup in Niger?", "date"),
        ("In what year did the Normans arrive?", "date"),
        ("How many soldiers remain?", "number"),
        ("What percentage of voters agreed?", "number"),
        ("How far is Agadez from Niamey?", "quantity"),
        ("How long did the embargo last?", "quantity"),
        ("Who is the Kremlin spokesperson?", "person"),
        ("Where is the second airbase?", "place"),
        ("What did the junta ask for?", "other"),
    ],
)
def test_question_kind(question: str, kind: str) -> None:
    assert question_kind(question) == kind


def test_sentences_are_offsets_and_abbreviations_do_not_split() -> None:
    text = (
        "Mr. Austin met U.S. officials on Friday. The talks ended at 5 p.m. and "
        'resumed later! "Was it enough?" asked J. Smith. 1,000 troops remain.'
    )
    sentences = [text[a:b] for a, b in split_sentences(text)]
    assert sentences == [
        "Mr. Austin met U.S. officials on Friday.",
        "The talks ended at 5 p.m. and resumed later!",
        '"Was it enough?" asked J. Smith.',
        "1,000 troops remain.",
    ]


@pytest.mark.parametrize(
    ("kind", "sentence", "span"),
    [
        ("quantity", "a second airbase in Agadez, some 500 miles from the capital", "500 miles"),
        ("quantity", "The restoration will cost £2.4 million in all.", "£2.4 million"),
        ("number", "nearly 1,000 U.S. soldiers remain", "1,000"),
        ("date", "Prior to the July 2023 coup in Niger", "July 2023"),
        ("date", "The Normans arrived in the 10th and 11th centuries.", "10th and 11th centuries"),
        ("date", "It opened on 4 March 1921 in the city.", "4 March 1921"),
        ("person", "Its designer, Alan Stevenson, also built it.", "Alan Stevenson"),
    ],
)
def test_span_patterns_find_the_answer(kind: str, sentence: str, span: str) -> None:
    found = [m.group(0).rstrip(".,") for m in SPAN_PATTERNS[kind].finditer(sentence)]
    assert span in found


def test_names_are_cut_to_their_name_words() -> None:
    sentence = (
        "In October, the U.S. labeled it a coup. Despite efforts, the Bank of England "
        "and Dmitry Peskov spoke on Friday."
    )
    names = [text for text, _ in find_spans("person", sentence)]
    assert "Despite" not in " ".join(names) and "October" not in names
    assert "Bank of England and Dmitry Peskov" in names
    assert all(sentence[start:].startswith(text) for text, start in find_spans("person", sentence))
