"""Splitting articles into Passage records: one per paragraph, or several of bounded length
for a paragraph far longer than the embedding model reads (each an exact piece of it)."""

from __future__ import annotations

from quotebot.records import Article, Passage
from quotebot.text import split_sentences

MAX_CHARS = 1500
"""The longest passage: about what the embedding model reads (256 word pieces)."""


def split_passages(article: Article, limit: int | None = None) -> list[Passage]:
    """The article's passages: one per body paragraph, a long paragraph cut into pieces
    of at most :data:`MAX_CHARS` at sentence ends; at most ``limit`` in all."""
    passages = []
    for number, text in enumerate(article.paragraphs):
        for part, piece in enumerate(pieces(text)):
            passages.append(
                Passage(
                    article_id=article.id,
                    paragraph=number,
                    text=piece,
                    title=article.title,
                    url=article.url,
                    published=article.published,
                    part=part,
                )
            )
            if limit is not None and len(passages) >= limit:
                return passages
    return passages


def pieces(text: str, size: int = MAX_CHARS) -> list[str]:
    """A paragraph cut at sentence ends (as :func:`quotebot.text.split_sentences` finds them),
    else at a space, into pieces of at most ``size`` characters, so that
    ``" ".join(pieces(text)) == text`` for a paragraph whose spaces are single, as every
    paragraph read is. A run of more than ``size`` characters without a
    space (a long address, a blob) is never cut: its piece ends at the next space."""
    found = []
    while len(text) > size:
        window = text[: size + 2]  # a sentence ending at ``size`` is known by what follows
        ends = [
            end
            for _, end in split_sentences(window)[:-1]
            if size // 3 <= end <= size and window[end] == " "
        ]
        cut = ends[-1] if ends else window[: size + 1].rfind(" ")
        if cut <= 0:
            cut = text.find(" ", size)
            if cut < 0:
                break
        found.append(text[:cut])
        text = text[cut + 1 :]
    found.append(text)
    return found
