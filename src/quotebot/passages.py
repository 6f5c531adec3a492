"""Splitting articles into Passage records, one per paragraph."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from quotebot.articles import Article


@dataclass(frozen=True)
class Passage:
    """One paragraph of an article, with what is needed to cite it."""

    article_id: str
    paragraph: int  # 0-based index into the article's body paragraphs
    text: str
    title: str
    url: str | None = None
    published: str | None = None

    @property
    def embedding_text(self) -> str:
        """What gets embedded: the paragraph with its article's title as context."""
        return f"{self.title}. {self.text}"

    @property
    def content_hash(self) -> str:
        """A hash of what is embedded; the same text never needs embedding twice."""
        return hashlib.sha256(self.embedding_text.encode()).hexdigest()[:32]


def split_passages(article: Article) -> list[Passage]:
    """One passage per body paragraph of the article."""
    return [
        Passage(
            article_id=article.id,
            paragraph=number,
            text=text,
            title=article.title,
            url=article.url,
            published=article.published,
        )
        for number, text in enumerate(article.paragraphs)
    ]
