"""Reading one file into its articles: .txt, .md, .html, .json and .jsonl."""

from __future__ import annotations

import codecs
import json
from pathlib import Path
from typing import Any

from quotebot.records import Article
from quotebot.sources.base import (
    SourceError,
    SourceOptions,
    clean_paragraphs,
    split_paragraphs,
)

SUPPORTED_SUFFIXES = (".txt", ".md", ".markdown", ".html", ".htm", ".json", ".jsonl")
_UTF16_BOMS = (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)


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
        from quotebot.sources import web

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
        paragraphs = clean_paragraphs(str(p) for p in record["paragraphs"])
    else:
        paragraphs = split_paragraphs(str(record.get("text") or record.get("paragraphs") or ""))
    if not paragraphs:
        raise SourceError(f"{where}: article {article_id!r} has no 'paragraphs' or 'text'")
    url, published = _optional(record.get("url")), _optional(record.get("published"))
    return Article(article_id, title, tuple(paragraphs), url, published, source=where)


def _optional(value: Any) -> str | None:
    text = str(value).strip() if value is not None else ""
    return text or None
