"""What every `quotebot` command shares: the settings read once, where the index is, the
options that name it, and one-line messages."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.text import Text

from quotebot import core
from quotebot.settings import Settings

# On a terminal, lines wrap at word boundaries; into a pipe, each line stays whole.
out = Console(highlight=False, soft_wrap=not sys.stdout.isatty())
err = Console(stderr=True, highlight=False, soft_wrap=True)


IndexDir = Annotated[
    Path | None,
    typer.Option(
        "--index-dir",
        metavar="DIR",
        help="Index folder. Defaults to $QUOTEBOT_INDEX_DIR or ./index.",
        show_default=False,
    ),
]


def say(label: str, style: str, message: str) -> None:
    """One line on stderr: a coloured label, then the message taken literally (no markup)."""
    err.print(Text.assemble((label, style), " ", message))


class UserError(Exception):
    """Something the user can fix; shown as one line, exit status 1."""


DatabaseUrl = Annotated[
    str | None,
    typer.Option(
        "--database-url",
        metavar="URL",
        help="Keep the index in this PostgreSQL database (postgresql://user:pass@host/db) "
        "instead of a folder. Defaults to $QUOTEBOT_DATABASE_URL.",
        show_default=False,
    ),
]


@cache
def settings_once() -> Settings:
    """The settings (environment and .env), read once: the one place the command line reads
    them; what they say below it is passed down as :func:`passed_down` says."""
    settings = Settings()
    core.configure(core.Options.from_settings(settings))
    return settings


def passed_down() -> core.Options:
    return core.Options.from_settings(settings_once())


def store_of(index_dir: Path | None, database_url: str | None) -> core.Store:
    """Where the index is: the options given, else the settings (QUOTEBOT_DATABASE_URL, then
    QUOTEBOT_INDEX_DIR)."""
    settings = settings_once()
    return core.location(
        index_dir or settings.paths.index_dir,
        database_url or settings.storage.database_url,
        passed_down().dense,
    )


@contextmanager
def progress_bar(label: str) -> Iterator[core.Progress]:
    """A progress bar on stderr (a terminal only) for a long step: ``label``, done of total
    and the time left; yields the callback the core reports progress to."""
    with Progress(
        TextColumn(label),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=err,
        transient=True,
        disable=not err.is_terminal,
    ) as bar:
        task = bar.add_task(label, total=None)

        def update(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        yield update
