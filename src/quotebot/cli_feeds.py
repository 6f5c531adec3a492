"""`quotebot feed`: follow feeds, list them, stop following them, and poll them (cron)."""

from __future__ import annotations

import json
import time
from typing import Annotated, Any

import typer

from quotebot import core
from quotebot.cli_common import DatabaseUrl, IndexDir, UserError, passed_down, store_of

feed_app = typer.Typer(
    help="Follow RSS/Atom feeds: their new entries are indexed, old ones leave.",
    no_args_is_help=True,
)

Every = Annotated[
    str | None,
    typer.Option(
        "--every",
        metavar="DURATION",
        help="How often to poll it: 30m, 2h, 1d ... Defaults to $QUOTEBOT_FEED_EVERY or 30m.",
        show_default=False,
    ),
]
Keep = Annotated[
    str | None,
    typer.Option(
        "--keep",
        metavar="DURATION",
        help="How long an entry stays in the index, from its date: 30d, 12h ... Defaults to "
        "$QUOTEBOT_FEED_KEEP or 30d.",
        show_default=False,
    ),
]
Url = Annotated[str, typer.Argument(metavar="URL", help="The feed's http(s):// address.")]


def _duration(option: str, given: str | None, default: float) -> float:
    if given is None:
        return default
    try:
        return core.parse_duration(given)
    except ValueError as error:
        raise UserError(f"{option}: {error}") from None


@feed_app.command("add")
def feed_add(
    url: Url,
    every: Every = None,
    keep: Keep = None,
    index_dir: IndexDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Follow the RSS/Atom feed at URL (again: with the new --every and --keep).

    It is polled at once by the next `quotebot feed poll` (or the running bot or `quotebot
    run`), then every --every; its entries leave the index --keep after their date.
    Examples:

        quotebot feed add https://example.com/news/rss

        quotebot feed add https://example.com/news/rss --every 2h --keep 7d
    """
    defaults = passed_down().feeds
    seconds = _duration("--every", every, defaults.every)
    kept = _duration("--keep", keep, defaults.keep)
    store = store_of(index_dir, database_url)
    try:
        before = core.follow(store.subscriptions(), url, seconds, kept)
    except ValueError as error:
        raise UserError(str(error)) from None
    how = f"every {core.say_duration(seconds)}, keeping entries {core.say_duration(kept)}"
    if before is None:
        typer.echo(f"following {url} ({how}); `quotebot feed poll` reads it now")
    else:
        typer.echo(f"already following {url}; now {how}")


@feed_app.command("list")
def feed_list(
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per feed.")] = False,
    index_dir: IndexDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """List the followed feeds: URL, last checked, last new entry, articles held, last error."""
    feeds = store_of(index_dir, database_url).subscriptions().feeds()
    now = time.time()
    if as_json:
        for feed in feeds:
            typer.echo(json.dumps(_as_json(feed)))
        return
    if not feeds:
        typer.echo("no feeds followed; follow one with `quotebot feed add URL`")
    for feed in feeds:
        typer.echo(core.describe(feed, now))


def _as_json(feed: core.Feed) -> dict[str, Any]:
    """A feed as `feed list --json` shows it (times in seconds since the epoch)."""
    return {
        "url": feed.url,
        "every": feed.every,
        "keep": feed.keep,
        "last_checked": feed.checked_at,
        "last_new_entry": feed.new_at,
        "articles_held": len(feed.entries),
        "last_error": feed.error,
        "failures": feed.failures,
        "next_poll": feed.next_at,
    }


@feed_app.command("remove")
def feed_remove(
    url: Url,
    drop_articles: Annotated[
        bool,
        typer.Option("--drop-articles", help="Also remove the articles it brought."),
    ] = False,
    index_dir: IndexDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Stop following the feed at URL; what it brought stays unless --drop-articles."""
    store = store_of(index_dir, database_url)
    feed, report = core.unfollow(
        store, store.subscriptions(), url, drop_articles, passed_down().poll
    )
    if feed is None:
        raise UserError(f"{url} is not followed; `quotebot feed list` shows the feeds followed")
    held = core.counted(len(feed.entries), "article")
    if report is not None:
        removed = core.counted(len(report.removed), "article")
        typer.echo(f"stopped following {url}; removed {removed} it brought")
    elif feed.entries:
        typer.echo(f"stopped following {url}; its {held} stay in the index (for good)")
    else:
        typer.echo(f"stopped following {url}")


@feed_app.command("poll")
def feed_poll(index_dir: IndexDir = None, database_url: DatabaseUrl = None) -> None:
    """Poll every feed that is due once, then exit (for cron; the bot and `quotebot run`
    poll on their own).

    One line per feed: what came and went ("2 new, 1 updated, 3 expired; 41 held"), or why
    it failed and when it is tried again. The exit status is 1 when a feed failed.
    Example (crontab):

        */10 * * * * cd /srv/quotebot && .venv/bin/quotebot feed poll
    """
    store = store_of(index_dir, database_url)
    subscriptions = store.subscriptions()
    reports = core.poll(store, subscriptions, passed_down().poll)
    if not reports:
        followed = subscriptions.feeds()
        said = "no feed is due"
        if followed:
            nearest = min(feed.next_at for feed in followed) - time.time()
            said += f"; the next in {core.say_duration(max(nearest, 0))}"
        typer.echo(f"{said} ({core.counted(len(followed), 'feed')} followed)", err=True)
    for report in reports:
        typer.echo(report.line())
    if any(report.error for report in reports):
        raise typer.Exit(1)
