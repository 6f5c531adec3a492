"""Reading sources (files, folders and web addresses) into Article records.

Files: ``.txt``, ``.md``, ``.html``, ``.json`` and ``.jsonl`` (:mod:`quotebot.sources.files`).
Addresses: ``http(s)://`` article pages and RSS/Atom feeds (:mod:`quotebot.sources.web`,
fetched safely by :mod:`quotebot.sources.fetch`).
"""

from __future__ import annotations

import errno
import os
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from quotebot.records import Article
from quotebot.sources.base import MAX_FILE_BYTES, SourceError, SourceOptions, split_paragraphs
from quotebot.sources.fetch import public_url
from quotebot.sources.files import SUPPORTED_SUFFIXES, article_from_record, read_file

__all__ = [
    "MAX_FILE_BYTES",
    "SUPPORTED_SUFFIXES",
    "ReadResult",
    "SourceError",
    "SourceOptions",
    "article_from_record",
    "read_file",
    "read_sources",
    "split_paragraphs",
]

_URL = re.compile(r"^https?://", re.IGNORECASE)
_SCHEME = re.compile(r"^([a-z][a-z0-9+.-]*):(//)?", re.IGNORECASE)
_SCHEMES_NOT_READ = frozenset({"ftp", "ftps", "file", "gopher", "sftp", "ssh", "data", "smb"})
_LOOKS_LIKE_A_HOST = re.compile(r"^(www\.|[\w-]+\.(com|org|net|news|co\.uk)(/|$))", re.IGNORECASE)


@dataclass
class ReadResult:
    """Articles read from some sources, and the sources that were skipped."""

    articles: list[Article] = field(default_factory=list)
    errors: list[SourceError] = field(default_factory=list)


def read_sources(sources: Iterable[str | Path], options: SourceOptions | None = None) -> ReadResult:
    """Read every source (a file, a folder read recursively, or an http(s) URL) into articles.

    A source that cannot be read is recorded in ``errors`` and skipped; the rest are read.

    Args:
        sources: Files, folders, or ``http://`` / ``https://`` URLs (as str).
        options: Size limits and fetch settings. Defaults to ``SourceOptions()``.

    Returns:
        The articles read and the errors met, in source order.
    """
    options = options or SourceOptions()
    result = ReadResult()
    seen: dict[str, str] = {}
    for source in _expand(sources, result.errors):
        try:
            articles, problems = _read_one(source, options)
        except SourceError as error:
            result.errors.append(error)
            continue
        result.errors.extend(problems)
        for article in articles:
            if article.id in seen:
                result.errors.append(
                    SourceError(
                        f"{article.source or source}: duplicate article id {article.id!r} "
                        f"(also in {seen[article.id]}); skipped"
                    )
                )
                continue
            seen[article.id] = article.source or str(source)
            result.articles.append(article)
    return result


def _read_one(
    source: str | Path, options: SourceOptions
) -> tuple[list[Article], list[SourceError]]:
    if isinstance(source, Path):
        return read_file(source, options)
    from quotebot.sources import web  # trafilatura loads slowly; only when a URL is read

    return web.read_url(source, options)


def _expand(sources: Iterable[str | Path], errors: list[SourceError]) -> Iterator[str | Path]:
    """Each URL (as str) and each file, folders expanded into the files under them."""
    for source in sources:
        if isinstance(source, str) and _URL.match(source.strip()):
            yield source.strip()
            continue
        if (
            isinstance(source, str)
            and (scheme := _SCHEME.match(source))
            and (scheme.group(2) or scheme.group(1).lower() in _SCHEMES_NOT_READ)
        ):
            errors.append(
                SourceError(
                    f"{public_url(source)}: unsupported URL scheme {scheme.group(1).lower()}:// "
                    "(quotebot reads http:// and https:// URLs, files and folders)"
                )
            )
            continue
        path = Path(source)
        if path.is_dir():
            yield from _files_under(path, errors)
        elif path.is_file():
            yield path
        else:
            errors.append(_not_a_file(path))


def _files_under(folder: Path, errors: list[SourceError]) -> list[Path]:
    """The files in a folder and its sub-folders (hidden ones left out), sorted; a sub-folder
    that cannot be listed and a link that leads nowhere are reported, not passed over."""

    def unlisted(error: OSError) -> None:
        errors.append(SourceError(f"{error.filename}: cannot list this folder ({error.strerror})"))

    files = []
    for root, folders, names in os.walk(folder, onerror=unlisted):
        folders[:] = [name for name in folders if not name.startswith(".")]
        for name in names:
            path = Path(root, name)
            if name.startswith("."):
                continue
            if path.is_file():
                files.append(path)
            else:
                errors.append(_not_a_file(path))
    return sorted(files)


def _not_a_file(path: Path) -> SourceError:
    """Why a source that is neither a file nor a folder cannot be read."""
    try:
        os.stat(path)
    except OSError as error:
        if error.errno == errno.ELOOP:
            return SourceError(f"{path}: a symbolic link that loops")
        if path.is_symlink():
            return SourceError(f"{path}: a symbolic link to {os.readlink(path)}, which is missing")
        if error.errno != errno.ENOENT:
            return SourceError(f"{path}: cannot be read ({error.strerror})")
        if _LOOKS_LIKE_A_HOST.match(str(path)):
            return SourceError(
                f"{path}: no such file or folder (for a web page, give its https:// URL)"
            )
        return SourceError(f"{path}: no such file or folder")
    return SourceError(f"{path}: not a regular file or folder")
