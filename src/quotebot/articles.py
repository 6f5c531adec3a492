"""Reading sources (files and folders) into Article records."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SUPPORTED_SUFFIXES = (".txt", ".json", ".jsonl")
MAX_FILE_BYTES = 20 * 1024 * 1024
_BLANK_LINES = re.compile(r"\n\s*\n")


@dataclass(frozen=True)
class Article:
    """One article: a title and its body paragraphs, with where it came from."""

    id: str
    title: str
    paragraphs: tuple[str, ...]
    url: str | None = None
    published: str | None = None
    source: str = ""


class SourceError(Exception):
    """A source that cannot be read. The message names the source and says why."""


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


def read_sources(sources: Iterable[str | Path]) -> ReadResult:
    """Read every source (a file, or a folder read recursively) into articles.

    A source that cannot be read is recorded in ``errors`` and skipped; the rest are read.

    Args:
        sources: Files or folders.

    Returns:
        The articles read and the errors met, in source order.
    """
    result = ReadResult()
    seen: dict[str, str] = {}
    for path in _expand(sources, result.errors):
        try:
            articles, problems = read_file(path)
        except SourceError as error:
            result.errors.append(error)
            continue
        result.errors.extend(problems)
        for article in articles:
            if article.id in seen:
                result.errors.append(
                    SourceError(
                        f"{path}: duplicate article id {article.id!r} "
                        f"(also in {seen[article.id]}); skipped"
                    )
                )
                continue
            seen[article.id] = str(path)
            result.articles.append(article)
    return result


def _expand(sources: Iterable[str | Path], errors: list[SourceError]) -> Iterator[Path]:
    for source in sources:
        path = Path(source)
        if path.is_dir():
            files = sorted(p for p in path.rglob("*") if p.is_file() and not p.name.startswith("."))
            yield from (p for p in files if p.suffix.lower() in SUPPORTED_SUFFIXES)
        elif path.is_file():
            yield path
        else:
            errors.append(SourceError(f"{path}: no such file or folder"))


def read_file(path: Path) -> tuple[list[Article], list[SourceError]]:
    """Read one file into its articles, by its suffix.

    Returns:
        The articles, and the problems with parts of the file that were skipped
        (bad lines of a JSON Lines file, bad items of a JSON list).

    Raises:
        SourceError: the file is missing, empty, binary, too large, malformed or of
            an unsupported type.
    """
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        supported = ", ".join(SUPPORTED_SUFFIXES)
        raise SourceError(f"{path}: unsupported file type {suffix or '(none)'}; use {supported}")
    text = _read_text(path)
    if suffix == ".txt":
        return [_article_from_txt(path, text)], []
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


def _read_text(path: Path) -> str:
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise SourceError(
                f"{path}: too large ({size / 1e6:.1f} MB; "
                f"the limit is {MAX_FILE_BYTES / 1e6:.0f} MB)"
            )
        data = path.read_bytes()
    except OSError as error:
        raise SourceError(f"{path}: cannot be read ({error.strerror or error})") from error
    if not data.strip():
        raise SourceError(f"{path}: the file is empty")
    if b"\x00" in data[:8192]:
        raise SourceError(f"{path}: looks like a binary file, not text")
    return _decode(path, data)


def _decode(path: Path, data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        # Windows-1252 is what most non-UTF-8 news text turns out to be.
        return data.decode("cp1252")
    except UnicodeDecodeError as error:
        raise SourceError(
            f"{path}: not UTF-8 text (undecodable byte at offset {error.start}); save it as UTF-8"
        ) from error


def _article_from_txt(path: Path, text: str) -> Article:
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    start = next(i for i, line in enumerate(lines) if line.strip())
    title = " ".join(lines[start].split())
    paragraphs = split_paragraphs("\n".join(lines[start + 1 :]))
    if not paragraphs:
        raise SourceError(f"{path}: has a title line but no paragraphs after it")
    return Article(id=path.stem, title=title, paragraphs=tuple(paragraphs), source=str(path))


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
        paragraphs = split_paragraphs(str(record.get("text") or ""))
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
