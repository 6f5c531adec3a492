"""Huge input: a paragraph far longer than the model reads is split into bounded passages
(quoted verbatim), and one article cannot become unbounded passages."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.auxil.corpus import write_article

from quotebot import indexing, storage
from quotebot.core import Engine
from quotebot.indexing.passages import MAX_CHARS, pieces

FILLER = "The council met again on Tuesday and talked about the weather for an hour."
NEEDLE = "The lighthouse at Ardnamurchan will be staffed again from March by two keepers."


def test_a_giant_paragraph_becomes_bounded_passages_quoted_verbatim(tmp_path: Path) -> None:
    giant = " ".join([FILLER] * 700 + [NEEDLE] + [FILLER] * 700)  # ~110 KB, one paragraph
    source = write_article(tmp_path / "a", "minutes", "Council minutes", giant, "The end.")
    index_dir = tmp_path / "index"
    report = indexing.build(index_dir, [source])
    index = storage.open_index(index_dir)
    passages = index.all_passages()
    assert report.passages == len(passages) > 70
    assert all(len(p.text) <= MAX_CHARS and p.text in giant for p in passages[:-1])
    assert [a.paragraphs for a in index.read_articles()] == [(giant, "The end.")]
    result = Engine(index_dir).answer("When will the Ardnamurchan lighthouse be staffed again?")
    assert result.found and NEEDLE in result.quote and result.quote in giant
    assert result.passages[0].passage.paragraph == 0


@pytest.mark.parametrize("size", [10, 1499, 1500, 1501, 5000])
def test_pieces_join_back_to_the_paragraph(size: int) -> None:
    text = " ".join(["word"] * size)[: size * 3]
    text = " ".join(text.split())
    found = pieces(text)
    assert " ".join(found) == text and all(len(p) <= MAX_CHARS for p in found)


@pytest.mark.parametrize(
    "text",
    [
        "x" * 4000,  # no space at all
        "See " + "https://example.com/" + "a" * 3000 + " for the rules. " + "More words. " * 200,
        "Word " * 400 + "y" * 2000 + " end.",
    ],
)
def test_a_run_without_spaces_is_kept_whole(text: str) -> None:
    found = pieces(text.strip())
    assert " ".join(found) == text.strip()  # nothing added, nothing lost
    assert all(len(p) <= MAX_CHARS or " " not in p[MAX_CHARS:] for p in found)


def test_passages_per_article_are_capped_and_told(tmp_path: Path) -> None:
    source = write_article(
        tmp_path / "a",
        "long",
        "A long page",
        *(f"Paragraph number {n} of many." for n in range(12)),
    )
    options = indexing.IndexOptions(max_passages=5)  # QUOTEBOT_MAX_PASSAGES
    report = indexing.build(tmp_path / "index", [source], options=options)
    assert report.passages == 5
    assert report.notes == [
        f"{source}: only its first 5 passages were indexed (QUOTEBOT_MAX_PASSAGES)"
    ]
