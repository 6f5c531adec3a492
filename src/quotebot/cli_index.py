"""`quotebot index`: build the index, add to it, remove from it, list and inspect it; and
the summary every change of the index prints."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from quotebot import core
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

index_app = typer.Typer(help="Build and inspect the index.", no_args_is_help=True)


def summarize(report: core.Report, where: core.Store, *, removing: bool = False) -> None:
    """One line per skipped source, then what changed, e.g. "indexed 3 articles, skipped 1
    (2 added, 1 unchanged); index now holds 3 articles, 21 passages (14 embedded, 7 reused)"."""
    for note in report.notes:
        say("note", "cyan", note)
    for error in report.skipped:
        say("skipped", "yellow", str(error))
    counts = ", ".join(
        f"{len(ids)} {label}"
        for label, ids in [
            ("added", report.added),
            ("updated", report.updated),
            ("unchanged", report.unchanged),
            ("removed", report.removed),
        ]
        if ids
    )
    done = "removed" if removing else "indexed"
    holds = (
        f"{core.counted(report.articles, 'article')}, {core.counted(report.passages, 'passage')}"
    )
    if report.version is None:
        after = f"nothing changed in {where} ({holds})"
    else:
        reused = report.passages - report.embedded
        after = f"{where} now holds {holds} ({report.embedded} embedded, {reused} reused)"
    err.print(
        f"{done} {core.counted(report.indexed if not removing else len(report.removed), 'article')}"
        f", skipped {len(report.skipped)}" + (f" ({counts})" if counts else "") + f"; {after}"
    )


def change_index(where: core.Store, sources: list[str], *, replace: bool) -> None:
    """Build (replace=True) or add to (replace=False) the index, and report what happened.

    One line per skipped source and a summary; exit status 0 when any article was indexed,
    1 when none was.
    """
    change = core.build if replace else core.add
    with progress_bar("Reading sources, embedding passages") as progress:
        report = change(where, sources, progress, passed_down().index)
    summarize(report, where)
    if report.indexed:
        return
    if report.skipped:  # each with its reason, then the summary: said in full above
        raise typer.Exit(1)
    raise UserError(
        "nothing was indexed: no articles in "
        + ", ".join(sources)
        + " (.txt, .md, .html, .json and .jsonl files and http(s):// URLs are read)"
    )


@index_app.command("build")
def index_build(
    sources: Annotated[
        list[str] | None,
        typer.Argument(
            metavar="[SOURCE]...",
            help="Files, folders or http(s):// URLs of articles or feeds. Defaults to ./articles.",
            show_default=False,
        ),
    ] = None,
    index_dir: IndexDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Build the index from scratch from files, folders and URLs.

    Articles are .txt (first line the title, then paragraphs separated by blank lines),
    .md, .html, .json and .jsonl files, and http(s):// pages and RSS/Atom feeds. The index
    being replaced keeps serving until the new one is complete. Examples:

        quotebot index build

        quotebot index build articles/ https://example.com/news/feed.xml
    """
    change_index(
        store_of(index_dir, database_url),
        sources or [str(settings_once().paths.articles_dir)],
        replace=True,
    )


@index_app.command("add")
def index_add(
    sources: Annotated[
        list[str],
        typer.Argument(
            metavar="SOURCE...",
            help="Files, folders or http(s):// URLs of articles or RSS/Atom feeds.",
        ),
    ],
    index_dir: IndexDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Add articles from files, folders and URLs to the index.

    An article already indexed under the same id (the file name, or the page's address) is
    replaced; passages that did not change are not embedded again. Examples:

        quotebot index add notes/niger.txt

        quotebot index add https://example.com/news/2024/05/agadez.html
    """
    change_index(store_of(index_dir, database_url), sources, replace=False)


@index_app.command("remove")
def index_remove(
    ids: Annotated[
        list[str],
        typer.Argument(
            metavar="ID...", help="Article ids (not file names), as `quotebot index list` shows."
        ),
    ],
    index_dir: IndexDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Remove articles by id."""
    folder = store_of(index_dir, database_url)
    report = core.remove(folder, ids, passed_down().index)
    summarize(report, folder, removing=True)
    if not report.removed:
        raise UserError("nothing was removed")


@index_app.command("list")
def index_list(index_dir: IndexDir = None, database_url: DatabaseUrl = None) -> None:
    """List the indexed articles: id, title, paragraph count."""
    index = store_of(index_dir, database_url).open()
    for article in index.articles():
        typer.echo(f"{article.id}\t{article.title}\t{article.paragraphs}")


@index_app.command("stats")
def index_stats(index_dir: IndexDir = None, database_url: DatabaseUrl = None) -> None:
    """Show how the index was built and how big it is."""
    store = store_of(index_dir, database_url)
    index = store.open()
    manifest = index.manifest
    table = Table(show_header=False, box=None)
    for key, value in [
        ("index", index.where),
        ("articles", manifest.articles),
        ("passages", manifest.passages),
        ("model", manifest.model),
        ("dimension", manifest.dimension),
        ("dense index", manifest.dense_index),
        ("format version", manifest.format_version),
        ("created at", manifest.created_at),
        ("size on disk", f"{store.size_on_disk() / 1e6:.2f} MB"),
    ]:
        table.add_row(key, str(value))
    out.print(table)
