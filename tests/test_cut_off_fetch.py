"""A page cut off by the fetch time limit is a failure, by every way a body can end: one line
naming the URL and the limit, nothing indexed from it, an earlier good copy kept. Each server
is real, on 127.0.0.1, and sends its body one byte a second."""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.auxil.cli import quotebot
from tests.auxil.website import Website, article_html, serve

from quotebot.sources import SourceOptions, read_sources

GOOD = article_html(
    "Lerwick harbour dredging",
    "Dredging of Lerwick harbour will begin in March and cost 4 million pounds.",
    "The harbour master said larger cruise ships could then berth at the Holmsgarth quay.",
)
LATER = article_html("Lerwick harbour dredging", "Dredging of Lerwick harbour was cancelled. " * 20)

# How the body of a slow page ends: the server's own words for each path.
PATHS = {
    "close-delimited": {"send_length": False},
    "content-length": {},
    "chunked": {"chunked": True},
    "gzip": {"send_length": False, "headers": {"Content-Encoding": "gzip"}, "gzip": True},
}


@pytest.fixture
def site() -> Iterator[Website]:
    with serve() as website:
        yield website


def slow(site: Website, path: str, how: str, html: str = LATER) -> str:
    options = dict(PATHS[how])
    body = gzip.compress(html.encode()) if options.pop("gzip", False) else html.encode()
    return site.page(path, body, trickle=1.0, **options)


@pytest.mark.parametrize("how", PATHS)
def test_a_slow_body_is_a_failure_not_an_article(site: Website, how: str) -> None:
    url = slow(site, "/story", how)
    read = read_sources([url], SourceOptions(allow_private_urls=True, fetch_timeout=2))
    assert read.articles == []
    [error] = read.errors
    assert url in str(error) and "too slow: not complete within 2 s" in str(error)


def test_a_cut_off_page_leaves_the_good_copy_answering(site: Website, tmp_path: Path) -> None:
    index = tmp_path / "index"
    env = {"QUOTEBOT_ALLOW_PRIVATE_URLS": "true", "QUOTEBOT_FETCH_TIMEOUT": "2"}
    url = site.page("/lerwick", GOOD)
    first = quotebot("index", "add", url, "--index-dir", index, env=env)
    assert first.returncode == 0, first.stderr
    slow(site, "/lerwick", "close-delimited")
    cut = quotebot("index", "add", url, "--index-dir", index, env=env)
    assert cut.returncode == 1
    lines = [line for line in (cut.stdout + cut.stderr).splitlines() if "too slow" in line]
    assert len(lines) == 1 and url in lines[0] and "2 s" in lines[0]
    asked = quotebot("ask", "--json", "What will the Lerwick dredging cost?", "--index-dir", index)
    passages = json.loads(asked.stdout)["passages"]
    assert {p["url"] for p in passages} == {url}
    assert any("4 million pounds" in p["text"] for p in passages)
    assert not any("cancelled" in p["text"] for p in passages)  # nothing of the cut-off page
    listed = quotebot("index", "list", "--index-dir", index)
    assert listed.stdout.count("Lerwick harbour dredging") == 1
