"""The `quotebot` command: build the index, ask questions, chat, run the bot."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator
from dataclasses import asdict
from importlib.metadata import version
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.text import Text

from quotebot import core, terminal
from quotebot.cli_common import (
    DatabaseUrl,
    IndexDir,
    UserError,
    err,
    out,
    passed_down,
    progress_bar,
    say,
    settings_once,
    store_of,
)
from quotebot.cli_feeds import feed_app
from quotebot.cli_index import change_index, index_app, summarize
from quotebot.core import DEFAULT_K, Engine
from quotebot.records import Answer

T = TypeVar("T")
app = typer.Typer(
    help="Answer questions about news articles by quoting them, with their source.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    rich_markup_mode=None,  # click's plain help: flags as flags, paragraphs wrapped whole
)
app.add_typer(index_app, name="index")
app.add_typer(feed_app, name="feed")


def _show_version(asked: bool) -> None:
    if asked:
        typer.echo(f"quotebot {version('quotebot')}")
        raise typer.Exit


@app.callback()
def _options(
    _version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_show_version, is_eager=True, help="Show the version and exit."
        ),
    ] = False,
) -> None:
    """Answer questions about news articles by quoting them, with their source."""


def answer_json(answer: Answer) -> dict[str, Any]:
    """The JSON shape of ``quotebot ask --json``: the answer, its confidence, the quote and
    the passages listed, each with its source and score."""
    return {
        "question": answer.question,
        "found": answer.found,
        "answer": answer.answer,
        "answer_confidence": round(answer.answer_confidence, 4),
        "answer_shown": answer.answer_shown,
        "quote": answer.quote,
        "searched_as": answer.searched_as,
        "passages": [
            {**asdict(hit.passage), "score": round(hit.score, 4)} for hit in answer.passages
        ],
    } | ({"explain": answer.explanation} if answer.explanation is not None else {})


def _print_answer(result: Answer, as_json: bool, passages: bool = False) -> None:
    if as_json:
        typer.echo(json.dumps(answer_json(result), ensure_ascii=False))
        return
    out.print(terminal.render_answer(result))
    if passages and result.passages:
        out.print(terminal.render_passages(result.passages))
    if result.explanation is not None:
        out.print(terminal.render_explanation(result))


def _questions_from_stdin() -> Iterator[str]:
    """Each non-blank line of stdin; of a line longer than any question only the start is
    kept (the answer says it is too long), so that memory stays bounded."""
    limit = core.MAX_QUESTION_CHARS + 1
    while line := sys.stdin.readline(limit):
        if len(line) == limit and not line.endswith("\n"):
            while (rest := sys.stdin.readline(1 << 16)) and not rest.endswith("\n"):
                pass
        if line.strip():
            yield line.strip()


def _answered(ask: Callable[[str], T], text: str) -> T | None:
    """``ask(text)``, or None where the question cannot be answered now (too long, the
    database down): said in one line, and the session goes on."""
    try:
        return ask(text)
    except (ValueError, core.StoreError) as error:
        say("error:", "red", str(error))
        return None


@app.command()
def ask(
    question: Annotated[
        str,
        typer.Argument(
            metavar="QUESTION", help="The question, or - to read one per line from stdin."
        ),
    ],
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per question.")] = False,
    k: Annotated[
        int | None,
        typer.Option(
            "-k",
            metavar="K",
            min=1,
            max=100,
            help=f"List the best K passages too (JSON lists {DEFAULT_K} without it).",
            show_default=False,
        ),
    ] = None,
    explain: Annotated[
        bool,
        typer.Option(
            "--explain",
            help="Say why: each search stage's best passages, the question's words no passage "
            "holds, the reader's best spans, and the decisions against their thresholds.",
        ),
    ] = False,
    index_dir: IndexDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Answer QUESTION by quoting the articles, with the source.

    Examples:

        quotebot ask "How far is Agadez from Niamey?"

        quotebot ask -k 3 "Who spoke for the Kremlin?"

        quotebot ask --json - < questions.txt

        quotebot ask --explain "How old is Dmitry Peskov?"
    """
    if question != "-" and not question.strip():
        raise UserError('the question is empty; ask something, e.g. quotebot ask "who is ...?"')
    engine = Engine(store_of(index_dir, database_url), passed_down().show_threshold)
    with terminal.ctrl_c_held():
        engine.warm()  # fails early, before reading stdin, when there is no index
    questions = _questions_from_stdin() if question == "-" else iter([question])
    unanswered = 0
    for number, text in enumerate(questions):
        if number and not as_json:
            out.print()  # answers set apart, so that piped output reads back
        result = _answered(lambda q: engine.answer(q, k or DEFAULT_K, explain=explain), text)
        if result is None:
            unanswered += 1
            continue
        _print_answer(result, as_json, passages=k is not None)
        sys.stdout.flush()
    if unanswered:
        raise typer.Exit(1)


@app.command()
def chat(
    as_json: Annotated[
        bool, typer.Option("--json", help="One JSON object per question (as ask --json).")
    ] = False,
    index_dir: IndexDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Ask questions at a prompt in the terminal, in a conversation.

    Type a question and press Enter; a follow-up ("when did he ...?") leans on the question
    before it, new starts afresh, why shows how the last answer was found, help shows how,
    quit or exit (or Ctrl-D) leaves. The arrow keys edit the line and recall earlier
    questions. Piped, it answers one question per line of input. Example:

        printf 'Who is the Kremlin spokesperson?\\nWhen did he address it?\\n' | quotebot chat
    """
    _chat(store_of(index_dir, database_url), as_json)


def _chat(where: core.Store, as_json: bool = False) -> None:
    settings = settings_once()
    engine = Engine(where, passed_down().show_threshold)
    minutes = settings.answers.conversation_minutes
    session = terminal.Session(core.Conversation(quiet=60 * minutes))
    if as_json or not sys.stdin.isatty():
        with terminal.ctrl_c_held():
            engine.warm()
        for text in _questions_from_stdin():
            said = _answered(lambda q: terminal.reply(engine, q, session), text)
            if said is None:
                continue
            if isinstance(said, Answer):
                _print_answer(said, as_json)
            elif not as_json:
                out.print(said)
            if not as_json:
                out.print()
            sys.stdout.flush()  # each answer as soon as it is ready, also into a pipe
        return
    with terminal.loading(err), terminal.ctrl_c_held():
        engine.warm()
    history = settings.embedding.cache_dir.expanduser() / "chat_history"
    terminal.chat(engine, session, out, err, history)


@app.command("eval")
def eval_command(
    questions: Annotated[
        Path, typer.Argument(metavar="QUESTIONS", help="Questions, one JSON object per line.")
    ],
    articles: Annotated[
        Path, typer.Option("--articles", metavar="DIR", help="The articles to index and ask.")
    ],
    held_out: Annotated[
        Path | None,
        typer.Option(
            "--held-out",
            metavar="DIR",
            help="Articles left out of the index: their questions should be declined.",
        ),
    ] = None,
    index_dir: Annotated[
        Path | None,
        typer.Option(
            "--index-dir",
            metavar="DIR",
            help="Use the index here (built from --articles first if there is none). "
            "Defaults to a temporary one.",
            show_default=False,
        ),
    ] = None,
    database_url: Annotated[
        str | None,
        typer.Option(
            "--database-url",
            metavar="URL",
            help="Use the index in this PostgreSQL database (built from --articles first if "
            "it holds none).",
            show_default=False,
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="The scores as JSON.")] = False,
) -> None:
    """Measure answer quality on questions with known answers.

    Indexes ARTICLES (in a temporary folder unless --index-dir is given), asks every
    question and prints paragraph top-1/top-5/MRR, quote, answer EM/F1, answered, short
    answers shown (exact among them, and how many), unanswerable and held-out questions
    declined, and the curve of shown answers over thresholds.

    QUESTIONS are SQuAD-style JSON lines (question, answers, article_id, paragraph_index;
    SQuAD 2.0's is_impossible with empty answers for questions the article does not
    answer). Example:

        quotebot eval squad2_questions.jsonl --articles squad2_articles.jsonl
    """
    from quotebot import evaluation

    try:
        asked = evaluation.read_questions(questions)
        indexed = evaluation.article_ids(articles)
        outside = evaluation.article_ids(held_out) if held_out else set()
    except evaluation.BadInput as error:
        raise UserError(str(error)) from error
    inside = [q for q in asked if q.article_id in indexed]
    off = [q for q in asked if q.article_id in outside]
    if not inside:
        raise UserError(f"no question in {questions} is about an article in {articles}")
    with tempfile.TemporaryDirectory(prefix="quotebot-eval-") as tmp:
        where = core.location(index_dir or Path(tmp) / "index", database_url, passed_down().dense)
        if not where.has_index():
            change_index(where, [str(articles)], replace=True)
        index = where.open()
        with progress_bar("Asking questions") as progress:
            threshold = passed_down().show_threshold
            report = evaluation.evaluate(
                index, inside, off, progress=progress, show_threshold=threshold
            )
    if as_json:
        typer.echo(json.dumps(report.to_dict()))
        return
    console = Console(highlight=False, width=max(out.width, 150))
    console.print(evaluation.table(report.scores))
    console.print(evaluation.curve_table(report))


@app.command()
def bot(
    index_dir: IndexDir = None,
    database_url: DatabaseUrl = None,
    webhook_url: Annotated[
        str | None,
        typer.Option(
            "--webhook-url",
            metavar="URL",
            help="Take updates at this https:// URL (python-telegram-bot's webhook server) "
            "instead of long polling. Defaults to $TELEGRAM_WEBHOOK_URL.",
            show_default=False,
        ),
    ] = None,
    listen: Annotated[
        str | None,
        typer.Option(
            "--listen",
            metavar="HOST:PORT",
            help="HOST:PORT the webhook server listens on. Defaults to "
            "$TELEGRAM_WEBHOOK_LISTEN, else 0.0.0.0:8443.",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Run the Telegram bot until stopped (see bot/README.md).

    It polls the Bot API with TELEGRAM_BOT_TOKEN (from the environment or .env), or with
    --webhook-url takes updates from Telegram at that address (several replicas behind a
    load balancer can share one bot, and one index with --database-url), and answers from
    the index, following rebuilds without a restart.
    """
    _bot(store_of(index_dir, database_url), webhook_url, listen, database_url)


def _bot(
    where: core.Store,
    webhook_url: str | None = None,
    listen: str | None = None,
    database_url: str | None = None,
) -> None:
    from quotebot.telegram import BotConfigError, run_bot

    settings = settings_once()
    if database_url:  # the bot keeps what its replicas share where the index is
        settings.storage.database_url = database_url
    if webhook_url:
        settings.telegram.webhook_url = webhook_url
    if listen:
        settings.telegram.webhook_listen = listen
    try:
        Engine(where, passed_down().show_threshold).index  # noqa: B018  (fail early: no index)
        run_bot(settings, where)
    except BotConfigError as error:
        raise UserError(str(error)) from error


@app.command(
    context_settings={
        "allow_extra_args": True,
        "ignore_unknown_options": True,
        "help_option_names": [],
    },
    add_help_option=False,
)
def bench(ctx: typer.Context) -> None:
    """Measure speed, memory and scale (README, Speed).

    See `quotebot bench --help`; the benchmarks live in benchmarks/ of a clone, outside the
    installed package.
    """
    root = Path(__file__).resolve().parents[2]
    if not (root / "benchmarks" / "__main__.py").is_file():
        raise UserError(f"the benchmarks come with a clone of quotebot; none beside {root}")
    path = os.pathsep.join(p for p in (str(root), os.environ.get("PYTHONPATH", "")) if p)
    env = {**os.environ, "PYTHONPATH": path}
    raise typer.Exit(subprocess.call([sys.executable, "-m", "benchmarks", *ctx.args], env=env))


@app.command()
def run(index_dir: IndexDir = None, database_url: DatabaseUrl = None) -> None:
    """Index the articles if needed, then run the bot or the chat.

    With no index yet one is built from ./articles (QUOTEBOT_ARTICLES_DIR). After that the
    index follows the folder: new and changed articles are added, and those whose file was
    deleted from it are removed (one line each); articles added with `index add` or the
    bot's /add are kept. Then the Telegram bot runs if TELEGRAM_BOT_TOKEN is set, else the
    chat; either polls the feeds followed (`quotebot feed add`) when they are due.
    """
    settings = settings_once()
    where = store_of(index_dir, database_url)
    folder = settings.paths.articles_dir
    if not where.has_index():
        change_index(where, [str(folder)], replace=True)
    elif core.needs_indexing(where, folder):
        with progress_bar("Reading the articles, embedding passages") as progress:
            report = core.follow_folder(where, folder, progress, passed_down().index)
        for article_id in report.removed:
            say("removed", "yellow", f"{article_id}: its file is no longer in {folder}")
        summarize(report, where)
    if settings.telegram.bot_token is not None:
        _bot(where, database_url=database_url)
    else:
        _follow_feeds(where)
        _chat(where)


def _follow_feeds(where: core.Store) -> None:
    """Poll the due feeds in the background while the chat runs (the bot has its own job);
    a feed that brought or lost something, or failed, is one line on stderr."""
    options = passed_down()

    def tell(report: core.FeedReport) -> None:
        if report.changed:
            err.print(Text(report.line()))

    stop = threading.Event()  # never set: the thread ends with the process
    core.follow_in_background(where, options.poll, options.feeds.check_seconds, tell, stop)


def _setting_problem(error: ValidationError) -> str:
    """One line naming the setting that is wrong (from the environment or .env) and why."""
    first = error.errors()[0]
    name = ".".join(str(part) for part in first["loc"]) or "a setting"
    return f"{name} is not valid: {first['msg']} (check the environment and .env)"


def main() -> None:
    """Entry point: run the app, turning user errors into one line and exit status 1."""
    try:
        app(prog_name="quotebot")  # also as `python -m quotebot`
    except ValidationError as error:
        say("error:", "red", _setting_problem(error))
        sys.exit(1)
    except (UserError, core.StoreError) as error:
        say("error:", "red", str(error))
        sys.exit(1)
    except KeyboardInterrupt:
        sys.exit(130)
