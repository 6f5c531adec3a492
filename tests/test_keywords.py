"""The keyword tokenizer gives exactly the tokens bm25s's own tokenizer gives."""

from __future__ import annotations

import bm25s
from tests.conftest import ARTICLES

from quotebot import text
from quotebot.sources import read_sources


def test_tokens_are_bm25s_tokens() -> None:
    texts = [p for a in read_sources([ARTICLES]).articles for p in (a.title, *a.paragraphs)]
    texts += ["", "a", "The and of", "Ünïcödé café — 500 miles, 1,000 U.S. soldiers; O'Brien's"]
    expected = bm25s.tokenize(
        texts, stopwords="en", stemmer=text._stemmer(), return_ids=False, show_progress=False
    )
    assert text.tokenize(texts) == expected
    assert [text.tokenize([t])[0] for t in texts] == expected
