"""Answers as the terminal shows them, and the terminal chat."""

from __future__ import annotations

import contextlib
import signal
import sys
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from rich.console import Console
from rich.text import Text

from quotebot.core import Engine, StoreError
from quotebot.records import Answer, Conversation, Hit, Turn

NOT_FOUND = "I couldn't find that in my articles."
SHORT_QUOTE = 200
CHAT_HELP = """\
Ask a question about the articles, e.g. "How far is Agadez from Niamey?", and press Enter.
The answer is a quote from an article: the short answer first (in bold) when it is likely
right, then the sentence that holds it, then its source (title, paragraph, date, link).
"I couldn't find that in my articles" means no article says it.
Follow-ups lean on the last question for a while ("Who is the Kremlin spokesperson?", then
"When did he address the deployment?"); a question that stands on its own starts afresh,
and new forgets the conversation. why shows how the last answer was found (each search
stage, the reader, the decision); help shows this; quit or exit (or Ctrl-D) leaves; the
arrow keys recall earlier questions."""
_COMMANDS = {
    "quit": "quit", "exit": "quit", ":q": "quit", "help": "help", "?": "help", "why": "why",
    "new": "new", "/new": "new",
}  # fmt: skip
NOTHING_TO_EXPLAIN = "Ask a question first: why then says how its answer was found."
NEW_CONVERSATION = "New conversation: the next question starts afresh."


@dataclass
class Session:
    """What the chat keeps between lines: the conversation, and the last question with the
    turn it followed (for why)."""

    conversation: Conversation
    asked: tuple[str, Turn | None] | None = None


def reply(engine: Engine, text: str, session: Session) -> Answer | Text:
    """What the chat says to one line: the answer to a question (within the conversation),
    or help, why or new."""
    command = _COMMANDS.get(text.lower())
    if command == "help":
        return Text(CHAT_HELP)
    if command == "new":
        session.conversation.clear()
        session.asked = None
        return Text(NEW_CONVERSATION)
    if command == "why":
        if session.asked is None:
            return Text(NOTHING_TO_EXPLAIN)
        question, before = session.asked
        return render_explanation(engine.answer(question, explain=True, last=before))
    session.asked = (text, session.conversation.last())
    return engine.follow(session.conversation, text)


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


def render_explanation(answer: Answer, shown: int = 3) -> Text:
    """Why the answer is what it is, in plain lines for an 80-column terminal: the question as
    searched, the best passages of each retrieval stage, the question's words that no passage
    holds, the reader's best spans and the decisions against their thresholds."""
    why = answer.explanation
    if why is None:
        return Text()
    text = Text("Why", style="bold")
    text.append(f"\n  searched as: {why['searched_as']}")
    for stage, found in why["stages"].items():
        text.append(f"\n  {stage + ':':10}")
        if not found:
            text.append("(nothing)")
        for number, where in enumerate(found[:shown], start=1):
            place = f"{shorten(where['title'], 44)}, ¶{where['paragraph']}"
            lead = "" if number == 1 else " " * 12
            text.append(f"{lead}{number}. {place:<52} {where['score']:7.3f}\n")
        text.rstrip()
    if why["missing_words"]:
        text.append(f"\n  no passage holds: {', '.join(why['missing_words'])}")
    spans = why["reader"]["spans"]
    text.append("\n  reader:   " + ("span score vs no-answer score" if spans else "no span"))
    for number, span in enumerate(spans[:shown], start=1):
        said = "“" + shorten(span["text"], 30) + "”"
        text.append(
            f"\n            {number}. {said:<34} passage {span['passage']}"
            f"  {span['score']:5.2f} vs {span['no_answer']:5.2f}"
        )
    text.append(f"\n  decision: {_decision(why['decision'])}")
    return text


def _decision(d: dict[str, Any]) -> str:
    if d["answered_by"] == "reported speech":
        return "the reader declined; the sentences that report what was asked are quoted whole"
    if d["declined_by"] == "search":
        return "declined: the index holds no passage"
    if d["declined_by"] == "reader":
        return "declined by the reader: no span in the passages read"
    said = f"found {d['found']:.2f} vs threshold {d['found_threshold']:.2f}: "
    if d["declined_by"] == "found decision":
        return said + "declined by the found decision"
    shown = "shown" if d["shown"] else "hidden (the quote leads)"
    return (
        f"{said}answered;\n            confidence {d['confidence']:.2f} vs threshold "
        f"{d['shown_threshold']:.2f}: short answer {shown}"
    )


def render_passages(hits: Sequence[Hit]) -> Text:
    """The passages found, best first: number, source and score, then a short quote."""
    text = Text("Passages:", style="bold")
    for number, hit in enumerate(hits, start=1):
        text.append(f"\n{source_line(hit, prefix=f'{number}. ')} · score {hit.score:.3f}")
        text.append(f"\n   {shorten(hit.passage.text)}", style="italic")
    return text


def chat(
    engine: Engine, session: Session, out: Console, err: Console, history: Path | None
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
        if _COMMANDS.get(text.lower()) == "quit":
            break
        if text:
            try:
                said = reply(engine, text, session)
                out.print(render_answer(said) if isinstance(said, Answer) else said)
            except KeyboardInterrupt:  # stop this answer, keep the chat
                out.print("(stopped)")
            except (ValueError, StoreError) as error:  # too long, the database down: go on
                err.print(Text.assemble(("error:", "red"), " ", str(error)))
        out.print()
    if readline is not None and history is not None:
        with contextlib.suppress(OSError):  # history is a convenience, never a failure
            history.parent.mkdir(parents=True, exist_ok=True)
            readline.write_history_file(history)


@contextlib.contextmanager
def loading(err: Console) -> Iterator[None]:
    """Show that the models are loading; keys typed meanwhile are not echoed over it (they
    stay typed ahead, for the prompt)."""
    with _no_echo(), err.status("Loading the articles and the models…"):
        yield


@contextlib.contextmanager
def ctrl_c_held() -> Iterator[None]:
    """Hold a Ctrl-C pressed inside the block until the block ends, then raise it: a native
    library (ONNX Runtime, tokenizers) interrupted while it loads fails with an error of its
    own ("ImportError: initialization failed") instead of stopping quietly."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    pressed: list[int] = []
    before = signal.signal(signal.SIGINT, lambda signum, frame: pressed.append(signum))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, before)
    if pressed:
        raise KeyboardInterrupt


@contextlib.contextmanager
def _no_echo() -> Iterator[None]:
    try:
        import termios

        fd = sys.stdin.fileno()
        before = termios.tcgetattr(fd)
    except (ImportError, OSError, ValueError, AttributeError):  # not a terminal
        yield
        return
    quiet = list(before)
    quiet[3] &= ~termios.ECHO
    termios.tcsetattr(fd, termios.TCSANOW, quiet)
    try:
        yield
    finally:
        termios.tcsetattr(fd, termios.TCSANOW, before)


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
