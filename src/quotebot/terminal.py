"""Answers as the terminal shows them."""

from __future__ import annotations

from rich.text import Text

from quotebot.answer import Answer

NOT_FOUND = "I couldn't find that in my articles."


def source_line(answer: Answer) -> str:
    """Where the quote comes from: title, paragraph (counted from 1), date and link."""
    hit = answer.source
    if hit is None:
        return ""
    passage = hit.passage
    parts = [f"— {passage.title}, paragraph {passage.paragraph + 1}"]
    if passage.published:
        parts.append(passage.published)
    if passage.url:
        parts.append(passage.url)
    return " · ".join(parts)


def render_answer(answer: Answer) -> Text:
    """The answer in bold, the quote with the answer highlighted, then the source.

    When the short answer is not likely right (``answer_shown`` false), the quote leads.
    """
    if not answer.found:
        return Text(NOT_FOUND)
    text = Text()
    shown = answer.answer_shown and bool(answer.answer) and answer.answer != answer.quote
    if shown:
        text.append(answer.answer, style="bold")
        text.append("\n")
    quote = Text(f"“{answer.quote}”")
    if shown:
        start = answer.answer_start + 1
        quote.stylize("bold underline", start, start + len(answer.answer))
    text.append_text(quote)
    text.append("\n")
    text.append(source_line(answer), style="dim")
    return text
