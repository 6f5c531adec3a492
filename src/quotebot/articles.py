"""Reading sources (files, folders and web addresses) into Article records.

Files: ``.txt``, ``.md``, ``.html``, ``.json`` and ``.jsonl``. Addresses: ``http(s)://``
article pages and RSS/Atom feeds (see :mod:`quotebot.web`).
"""

from __future__ import annotations

import codecs
import errno
import hashlib
import json
import os
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from quotebot.fetch import public_url

SUPPORTED_SUFFIXES = (".txt", ".md", ".markdown", ".html", ".htm", ".json", ".jsonl")
MAX_FILE_BYTES = 20 * 1024 * 1024
_BLANK_LINES = re.compile(r"\n\s*\n")
_URL = re.compile(r"^https?://", re.IGNORECASE)
_SCHEME = re.compile(r"^([a-z][a-z0-9+.-]*):(//)?", re.IGNORECASE)
_SCHEMES_NOT_READ = frozenset({"ftp", "ftps", "file", "gopher", "sftp", "ssh", "data", "smb"})
_LOOKS_LIKE_A_HOST = re.compile(r"^(www\.|[\w-]+\.(com|org|net|news|co\.uk)(/|$))", re.IGNORECASE)
_UTF16_BOMS = (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)


@dataclass(frozen=True)
class Article:
    """One article: a title and its body paragraphs, with where it came from."""

    id: str
    title: str
    paragraphs: tuple[str, ...]
    url: str | None = None
    published: str | None = None
    source: str = ""

    @property
    def content_hash(self) -> str:
        """A hash of what the article says (title, paragraphs, url, date); where it was
        read from does not count. Equal hashes: nothing to update."""
        said = json.dumps([self.title, self.paragraphs, self.url, self.published])
        return hashlib.sha256(said.encode()).hexdigest()[:32]


class SourceError(Exception):
    """A source that cannot be read. The message names the source and says why."""


@dataclass(frozen=True)
class SourceOptions:
    """Limits on reading sources; :meth:`from_settings` reads them from the environment."""

    max_file_bytes: int = MAX_FILE_BYTES
    max_download_bytes: int = 10 * 1024 * 1024
    fetch_timeout: float = 15.0
    allow_private_urls: bool = False
    max_feed_entries: int = 50
    feed_timeout: float = 60.0

    @classmethod
    def from_settings(cls) -> SourceOptions:
        """The options set by QUOTEBOT_* settings (see .env.example)."""
        from quotebot.settings import Settings

        settings = Settings()
        return cls(
            max_file_bytes=int(settings.max_file_mb * 1e6),
            max_download_bytes=int(settings.max_download_mb * 1e6),
            fetch_timeout=settings.fetch_timeout,
            allow_private_urls=settings.allow_private_urls,
            max_feed_entries=settings.max_feed_entries,
            feed_timeout=settings.feed_timeout,
        )


@dataclass
class ReadResult:
    """Articles read from some sources, and the sources that were skipped."""

    articles: list[Article] = field(default_factory=list)
    errors: list[SourceError] = field(default_factory=list)


def split_paragraphs(text: str) -> list[str]:
    """Split text into paragraphs at blank lines, joining wrapped lines within each."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    paragraphs = (" ".join(block.split()) for block in _BLANK_LINES.split(text))
    return [p for p in paragraphs if p]


def read_sources(sources: Iterable[str | Path], options: SourceOptions | None = None) -> ReadResult:
    """Read every source (a file, a folder read recursively, or an http(s) URL) into articles.

    A source that cannot be read is recorded in ``errors`` and skipped; the rest are read.

    Args:
        sources: Files, folders, or ``http://`` / ``https://`` URLs (as str).
        options: Size limits and fetch settings. Defaults to the QUOTEBOT_* settings.

    Returns:
        The articles read and the errors met, in source order.
    """
    options = options or SourceOptions.from_settings()
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
    from quotebot import web  # trafilatura loads slowly; only when a URL is read

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


def read_file(
    path: Path, options: SourceOptions | None = None
) -> tuple[list[Article], list[SourceError]]:
    """Read one file into its articles, by its suffix.

    Returns:
        The articles, and the problems with parts of the file that were skipped
        (bad lines of a JSON Lines file, bad items of a JSON list).

    Raises:
        SourceError: the file is missing, empty, binary, too large, malformed or of
            an unsupported type.
    """
    options = options or SourceOptions()
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        supported = ", ".join(SUPPORTED_SUFFIXES)
        raise SourceError(f"{path}: unsupported file type {suffix or '(none)'}; use {supported}")
    data = _read_bytes(path, options.max_file_bytes)
    if suffix in (".html", ".htm"):
        from quotebot import web

        return [web.article_from_html(data, str(path), path.stem, source=str(path))], []
    text = _decode(path, data)
    if suffix == ".txt":
        return [_article_from_txt(path, text)], []
    if suffix in (".md", ".markdown"):
        return [_article_from_markdown(path, text)], []
    if suffix == ".jsonl":
        records = _records_from_jsonl(path, text)
    else:
        records = _records_from_json(path, text)
    articles: list[Article] = []
    problems: list[SourceError] = []
    for where, record in records:
        try:
            articles.append(article_from_record(record, where))
        except SourceError as error:
            problems.append(error)
    if not articles:
        raise SourceError("; ".join(str(p) for p in problems[:3]) or f"{path}: no articles in it")
    return articles, problems


def _read_bytes(path: Path, limit: int) -> bytes:
    """The file's bytes, refusing what is too large, empty or binary."""
    try:
        size = path.stat().st_size
        if size > limit:
            raise SourceError(
                f"{path}: too large ({size / 1e6:.1f} MB; the limit is {limit / 1e6:.0f} MB, "
                "set by QUOTEBOT_MAX_FILE_MB)"
            )
        data = path.read_bytes()
    except OSError as error:
        raise SourceError(f"{path}: cannot be read ({error.strerror or error})") from error
    if not data.strip():
        raise SourceError(f"{path}: the file is empty")
    if b"\x00" in data[:8192] and not data.startswith(_UTF16_BOMS):
        raise SourceError(f"{path}: looks like a binary file, not text")
    return data


def _decode(path: Path, data: bytes) -> str:
    """Text from bytes: UTF-8 or UTF-16 (by its BOM), else the encoding charset-normalizer
    finds, preferring Windows-1252 (most non-UTF-8 news text) when it fits as well."""
    if data.startswith(_UTF16_BOMS):
        return data.decode("utf-16", errors="replace")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    import charset_normalizer

    matches = list(charset_normalizer.from_bytes(data))
    if not matches:
        raise SourceError(
            f"{path}: not text in UTF-8 or any other encoding it could be detected as; "
            "save it as UTF-8"
        )
    least_chaos = min(m.chaos for m in matches)
    near_best = [m for m in matches if m.chaos <= least_chaos + 0.1]
    if any("cp1252" in m.could_be_from_charset for m in near_best):
        return data.decode("cp1252", errors="replace")
    return str(matches[0])


def _article_from_txt(path: Path, text: str) -> Article:
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    start = next((i for i, line in enumerate(lines) if line.strip()), None)
    if start is None:
        raise SourceError(f"{path}: the file is empty")
    title = " ".join(lines[start].split())
    paragraphs = split_paragraphs("\n".join(lines[start + 1 :]))
    if not paragraphs:
        raise SourceError(f"{path}: has a title line but no paragraphs after it")
    return Article(id=path.stem, title=title, paragraphs=tuple(paragraphs), source=str(path))


def _article_from_markdown(path: Path, text: str) -> Article:
    """A Markdown article: the first heading (or a front-matter ``title``) is the title,
    each paragraph, list item or quoted paragraph a paragraph; code and later headings
    are left out. Front matter may also give ``url`` and ``date``/``published``."""
    from markdown_it import MarkdownIt

    meta, body = _front_matter(text)
    tokens = MarkdownIt("commonmark").parse(body)
    title = meta.get("title", "")
    paragraphs: list[str] = []
    for opening, inline in zip(tokens, tokens[1:], strict=False):
        if inline.type != "inline" or opening.type not in ("paragraph_open", "heading_open"):
            continue
        words = " ".join(_plain_text(inline).split())
        if opening.type == "paragraph_open" and words:
            paragraphs.append(words)
        elif not title:
            title = words
    if not title and len(paragraphs) > 1:
        title = paragraphs.pop(0)  # like a .txt file: the first line is the title
    if not title or not paragraphs:
        raise SourceError(f"{path}: no {'title' if not title else 'paragraphs'} in it")
    return Article(
        id=path.stem,
        title=title,
        paragraphs=tuple(paragraphs),
        url=meta.get("url") or None,
        published=meta.get("published") or meta.get("date") or None,
        source=str(path),
    )


def _plain_text(inline: Any) -> str:
    """The words of a Markdown inline token: text, code, link text and image alt text."""
    parts = []
    for child in inline.children or []:
        if child.type in ("text", "code_inline"):
            parts.append(child.content)
        elif child.type in ("softbreak", "hardbreak"):
            parts.append(" ")
        elif child.type == "image":
            parts.append(_plain_text(child))
    return "".join(parts)


def _front_matter(text: str) -> tuple[dict[str, str], str]:
    """``key: value`` lines between two ``---`` lines at the top, and the text after them."""
    text = text.replace("\r\n", "\n")
    if not text.startswith("---\n"):
        return {}, text
    end = text.find("\n---", 4)
    if end < 0:
        return {}, text
    meta = {}
    for line in text[4:end].splitlines():
        key, sep, value = line.partition(":")
        if sep:
            meta[key.strip().lower()] = value.strip().strip("\"'")
    return meta, text[end + 4 :].partition("\n")[2]


def _records_from_json(path: Path, text: str) -> list[tuple[str, Any]]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise SourceError(f"{path}: malformed JSON at line {error.lineno}: {error.msg}") from error
    if not isinstance(data, list):
        return [(str(path), data)]
    return [(f"{path} (item {number})", record) for number, record in enumerate(data, start=1)]


def _records_from_jsonl(path: Path, text: str) -> list[tuple[str, Any]]:
    records: list[tuple[str, Any]] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            records.append((f"{path}:{number}", json.loads(line)))
        except json.JSONDecodeError as error:
            records.append((f"{path}:{number}", _Malformed(error.msg)))
    return records


class _Malformed:
    """A JSON Lines line that did not parse; reported when made into an article."""

    def __init__(self, reason: str) -> None:
        self.reason = reason


def article_from_record(record: Any, where: str) -> Article:
    """Make an Article from a JSON object with id, title, optional url/published and
    either ``paragraphs`` (a list) or ``text`` (split at blank lines)."""
    if isinstance(record, _Malformed):
        raise SourceError(f"{where}: malformed JSON ({record.reason})")
    if not isinstance(record, dict):
        raise SourceError(f"{where}: expected a JSON object, got {type(record).__name__}")
    article_id = str(record.get("id") or "").strip()
    title = " ".join(str(record.get("title") or "").split())
    if not article_id:
        raise SourceError(f"{where}: missing 'id'")
    if not title:
        raise SourceError(f"{where}: article {article_id!r} has no 'title'")
    if isinstance(record.get("paragraphs"), list):
        paragraphs = [" ".join(str(p).split()) for p in record["paragraphs"]]
        paragraphs = [p for p in paragraphs if p]
    else:
        paragraphs = split_paragraphs(str(record.get("text") or record.get("paragraphs") or ""))
    if not paragraphs:
        raise SourceError(f"{where}: article {article_id!r} has no 'paragraphs' or 'text'")
    return Article(
        id=article_id,
        title=title,
        paragraphs=tuple(paragraphs),
        url=_optional(record.get("url")),
        published=_optional(record.get("published")),
        source=where,
    )


def _optional(value: Any) -> str | None:
    text = str(value).strip() if value is not None else ""
    return text or None
