"""Replies as Telegram shows them: HTML with a plain-text twin, split to fit one message.

A reply is a list of blocks (a paragraph, a quote, a source line), each made of runs of text
with a style. Every block renders twice: as HTML (``parse_mode=HTML``, every piece of text
escaped) and as plain text, so that a message Telegram refuses can be resent as it is, without
markup. Blocks are packed into messages of at most 4096 characters; a block too long for one
message is cut at word boundaries.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

from quotebot.records import Answer, ArticleInfo, Hit
from quotebot.terminal import NOT_FOUND, shorten

MAX_MESSAGE = 4096
"""Telegram's limit on the length of one message (UTF-16 code units)."""
_PIECES = re.compile(r"\S+\s*|\s+")

__all__ = [
    "MAX_MESSAGE",
    "NOT_FOUND",
    "Block",
    "Message",
    "Run",
    "answer_blocks",
    "pack",
    "passage_blocks",
    "source_blocks",
    "text_blocks",
]


@dataclass(frozen=True)
class Run:
    """A stretch of text with one style."""

    text: str
    bold: bool = False
    italic: bool = False
    code: bool = False
    link: str | None = None

    def html(self) -> str:
        """The run as Telegram HTML, its text escaped."""
        out = html.escape(self.text, quote=False)
        if self.code:
            out = f"<code>{out}</code>"
        if self.italic:
            out = f"<i>{out}</i>"
        if self.bold:
            out = f"<b>{out}</b>"
        if self.link:
            out = f'<a href="{html.escape(self.link, quote=True)}">{out}</a>'
        return out

    def plain(self) -> str:
        """The run as plain text; a link keeps its address in brackets."""
        return f"{self.text} ({self.link})" if self.link else self.text


@dataclass(frozen=True)
class Block:
    """A paragraph of a reply; ``quote`` blocks are shown as a quotation."""

    runs: tuple[Run, ...]
    quote: bool = False

    def html(self) -> str:
        inner = "".join(run.html() for run in self.runs)
        return f"<blockquote>{inner}</blockquote>" if self.quote else inner

    def plain(self) -> str:
        inner = "".join(run.plain() for run in self.runs)
        return f"“{inner}”" if self.quote else inner


@dataclass(frozen=True)
class Message:
    """One message to send: its HTML and the same content as plain text."""

    html: str
    plain: str


def text_blocks(*paragraphs: str) -> list[Block]:
    """Plain paragraphs, one block each."""
    return [Block((Run(p),)) for p in paragraphs]


def answer_blocks(answer: Answer) -> list[Block]:
    """The answer in bold, the quote with the answer highlighted in it, and the source line.

    When the short answer is not likely right (``answer_shown`` false), the quote leads,
    with nothing in bold.
    """
    hit = answer.source
    if not answer.found or hit is None:
        return text_blocks(NOT_FOUND)
    blocks: list[Block] = []
    start = _answer_offset(answer) if answer.answer_shown else None
    if answer.answer_shown and answer.answer and answer.answer != answer.quote:
        blocks.append(Block((Run(answer.answer, bold=True),)))
    quote: tuple[Run, ...]
    if start is None:
        quote = (Run(answer.quote),)
    else:
        end = start + len(answer.answer)
        before, middle, after = answer.quote[:start], answer.quote[start:end], answer.quote[end:]
        quote = tuple(run for run in (Run(before), Run(middle, bold=True), Run(after)) if run.text)
    blocks.append(Block(quote, quote=True))
    blocks.append(_source_line(hit))
    return blocks


def passage_blocks(hits: Sequence[Hit], first_number: int) -> list[Block]:
    """Further passages for "More sources": number, title, paragraph, date, a short quote."""
    blocks: list[Block] = []
    for number, hit in enumerate(hits, start=first_number):
        line = _source_line(hit, prefix=f"{number}. ")
        blocks.append(line)
        blocks.append(Block((Run(shorten(hit.passage.text), italic=True),), quote=True))
    return blocks


def source_blocks(articles: Iterable[ArticleInfo]) -> list[Block]:
    """One line per indexed article: title (linked), paragraph count, id."""
    blocks = []
    for article in articles:
        count = article.paragraphs
        blocks.append(
            Block(
                (
                    Run("• "),
                    Run(article.title, link=article.url),
                    Run(f" — {count} paragraph{'s' if count != 1 else ''}, id "),
                    Run(article.id, code=True),
                )
            )
        )
    return blocks


def pack(blocks: Sequence[Block], limit: int = MAX_MESSAGE) -> list[Message]:
    """Pack blocks into as few messages as fit, each at most ``limit`` long in both forms."""
    messages: list[Message] = []
    html_parts: list[str] = []
    plain_parts: list[str] = []
    for block in (piece for b in blocks for piece in _fit(b, limit)):
        html_text, plain_text = block.html(), block.plain()
        joined_html = "\n".join([*html_parts, html_text])
        joined_plain = "\n".join([*plain_parts, plain_text])
        if html_parts and max(_units(joined_html), _units(joined_plain)) > limit:
            messages.append(Message("\n".join(html_parts), "\n".join(plain_parts)))
            html_parts, plain_parts = [], []
        html_parts.append(html_text)
        plain_parts.append(plain_text)
    if html_parts:
        messages.append(Message("\n".join(html_parts), "\n".join(plain_parts)))
    return messages


def _source_line(hit: Hit, prefix: str = "— ") -> Block:
    passage = hit.passage
    runs = [Run(prefix), Run(passage.title, link=passage.url)]
    runs.append(Run(f", paragraph {passage.paragraph + 1}"))
    if passage.published:
        runs.append(Run(f" · {passage.published}"))
    return Block(tuple(runs))


def _answer_offset(answer: Answer) -> int | None:
    """Where the answer starts in the quote, or None when it is not inside it."""
    if not answer.answer:
        return None
    start = answer.answer_start
    if answer.quote[start : start + len(answer.answer)] == answer.answer:
        return start
    found = answer.quote.find(answer.answer)
    return found if found >= 0 else None


def _units(text: str) -> int:
    """Length as Telegram counts it: UTF-16 code units."""
    return len(text.encode("utf-16-le")) // 2


def _cost(block: Block) -> int:
    return max(_units(block.html()), _units(block.plain()))


def _fit(block: Block, limit: int) -> list[Block]:
    """The block, cut into blocks that each fit in one message."""
    if _cost(block) <= limit:
        return [block]
    pieces: list[Block] = []
    runs: list[Run] = []
    for run in block.runs:
        for piece in _pieces(run, limit):
            candidate = Block((*runs, piece), block.quote)
            if runs and _cost(candidate) > limit:
                pieces.append(Block(tuple(runs), block.quote))
                runs = []
            runs.append(piece)
    if runs:
        pieces.append(Block(tuple(runs), block.quote))
    return pieces


def _pieces(run: Run, limit: int) -> list[Run]:
    """A run cut at word boundaries (or anywhere, for a very long word) into runs that fit."""
    budget = limit - _cost(Block((replace(run, text=""),), quote=True)) - 8
    pieces: list[str] = []
    current = ""
    for token in _PIECES.findall(run.text):
        while _text_cost(token) > budget:
            head, token = _cut(token, budget)
            if current:
                pieces.append(current)
                current = ""
            pieces.append(head)
        if current and _text_cost(current + token) > budget:
            pieces.append(current)
            current = ""
        current += token
    if current:
        pieces.append(current)
    return [replace(run, text=piece) for piece in pieces]


def _text_cost(text: str) -> int:
    return _units(html.escape(text, quote=False))


def _cut(token: str, budget: int) -> tuple[str, str]:
    """Split a token so that the head fits the budget."""
    total = 0
    for size, char in enumerate(token):
        total += _text_cost(char)
        if total > budget:
            return token[: max(size, 1)], token[max(size, 1) :]
    return token, ""
