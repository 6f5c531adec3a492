"""Answers as the terminal shows them, and the terminal chat."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence
from pathlib import Path
from types import ModuleType

from rich.console import Console
from rich.text import Text

from quotebot.records import Answer, Hit

NOT_FOUND = "I couldn't find that in my articles."
SHORT_QUOTE = 200
CHAT_HELP = """\
Ask a question about the articles, e.g. "How far is Agadez from Niamey?", and press Enter.
The answer is a quote from an article: the short answer first (in bold) when it is likely
right, then the sentence that holds it, then its source (title, paragraph, date, link).
"I couldn't find that in my articles" means no article says it.
Type help for this, quit or exit (or Ctrl-D) to leave; the arrow keys recall earlier questions."""
_COMMANDS = {"quit": "quit", "exit": "quit", ":q": "quit", "help": "help", "?": "help"}


def source_line(hit: Hit, prefix: str = "— ") -> str:
    """Where a passage comes from: title, paragraph (counted from 1), date and link."""
    passage = hit.passage
    parts = [f"{prefix}{passage.title}, paragraph {passage.paragraph + 1}"]
    if passage.published:
        parts.append(passage.published)
    if passage.url:
        parts.append(passage.url)
    return " · ".join(parts)


def shorten(text: str, size: int = SHORT_QUOTE) -> str:
    """The text cut at a word boundary to at most ``size`` characters, with an ellipsis."""
    if len(text) <= size:
        return text
    cut = text[:size].rsplit(" ", 1)[0] if " " in text[:size] else text[:size]
    return cut.rstrip(" ,;:") + "…"


def render_answer(answer: Answer) -> Text:
    """The answer in bold, the quote with the answer highlighted, then the source.

    When the short answer is not likely right (``answer_shown`` false), the quote leads.
    """
    hit = answer.source
    if hit is None:
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
    text.append(source_line(hit), style="dim")
    return text


def render_passages(hits: Sequence[Hit]) -> Text:
    """The passages found, best first: number, source and score, then a short quote."""
    text = Text("Passages:", style="bold")
    for number, hit in enumerate(hits, start=1):
        text.append(f"\n{source_line(hit, prefix=f'{number}. ')} · score {hit.score:.3f}")
        text.append(f"\n   {shorten(hit.passage.text)}", style="italic")
    return text


def chat(
    ask: Callable[[str], Answer], out: Console, err: Console, history: Path | None = None
) -> None:
    """Ask and answer at a prompt until quit, exit, Ctrl-D or Ctrl-C, with line editing and
    the questions of earlier sessions (kept in ``history``) on the arrow keys."""
    readline = _line_editing(history)
    err.print("Ask about the articles. Type help for how, quit to leave.")
    while True:
        try:
            text = input("? ").strip()  # drawn by readline once it has the terminal
        except (EOFError, KeyboardInterrupt):
            out.print()
            break
        command = _COMMANDS.get(text.lower())
        if command == "quit":
            break
        if command == "help":
            out.print(CHAT_HELP, markup=False)
        elif text:
            try:
                out.print(render_answer(ask(text)))
            except KeyboardInterrupt:  # stop this answer, keep the chat
                out.print("(stopped)")
        out.print()
    if readline is not None and history is not None:
        with contextlib.suppress(OSError):  # history is a convenience, never a failure
            history.parent.mkdir(parents=True, exist_ok=True)
            readline.write_history_file(history)


def _line_editing(history: Path | None) -> ModuleType | None:
    """Line editing and history for input(), where the platform has readline."""
    try:
        import readline
    except ImportError:
        return None
    readline.set_history_length(1000)
    if history is not None:
        with contextlib.suppress(OSError):  # no history yet
            readline.read_history_file(history)
    return readline
