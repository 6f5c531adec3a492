"""The index on disk: FAISS vectors, passage text and article metadata, one version at a time.

Layout of an index folder::

    CURRENT            the name of the live version (replaced atomically)
    v-<time>-<rand>/   one complete version
        manifest.json  how it was built (model, dimension, counts, format, time)
        dense.faiss    the FAISS index (unit vectors, inner product)
        vectors.npy    the same vectors, row i = passage i (kept for reuse)
        keywords/      the BM25 keyword index over the same passages (bm25s)
        passages.sqlite  articles and passages; passage row i is FAISS id i

A new version is written beside the live one under a temporary name, renamed into
place when complete, and only then made live by replacing CURRENT; an interrupted
build never touches what is serving.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import sqlite3
import time
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import faiss
import numpy as np

from quotebot import keywords
from quotebot.articles import Article
from quotebot.passages import Passage

FORMAT_VERSION = 1
CURRENT = "CURRENT"
MANIFEST = "manifest.json"
DENSE = "dense.faiss"
VECTORS = "vectors.npy"
KEYWORDS = "keywords"
DATABASE = "passages.sqlite"
_TMP_PREFIX = ".tmp-"

_SCHEMA = """
CREATE TABLE articles (
    id TEXT PRIMARY KEY, title TEXT NOT NULL, url TEXT, published TEXT,
    source TEXT, paragraphs INTEGER NOT NULL
);
CREATE TABLE passages (
    row INTEGER PRIMARY KEY, article_id TEXT NOT NULL REFERENCES articles(id),
    paragraph INTEGER NOT NULL, text TEXT NOT NULL, hash TEXT NOT NULL
);
CREATE INDEX passages_by_article ON passages(article_id, paragraph);
"""


class StoreError(Exception):
    """An index that is missing, broken or built differently. The message says what to do."""


@dataclass(frozen=True)
class Manifest:
    """How an index version was built; saved beside it as manifest.json."""

    model: str
    dimension: int
    passages: int
    articles: int
    format_version: int = FORMAT_VERSION
    created_at: str = ""

    @classmethod
    def load(cls, path: Path) -> Manifest:
        data = json.loads((path / MANIFEST).read_text())
        return cls(**{key: data[key] for key in cls.__dataclass_fields__ if key in data})


@dataclass(frozen=True)
class ArticleInfo:
    """An indexed article as listed by ``quotebot index list`` and ``/sources``."""

    id: str
    title: str
    url: str | None
    published: str | None
    source: str | None
    paragraphs: int


class Index:
    """One opened, read-only version of the index."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            self.manifest = Manifest.load(path)
            self.dense = faiss.read_index(str(path / DENSE))
            self.vectors = np.load(path / VECTORS, mmap_mode="r")
            self.keywords = keywords.load(path / KEYWORDS)
        except (OSError, ValueError, KeyError, RuntimeError) as error:
            raise StoreError(
                f"the index in {path} is damaged ({error}); rebuild it with `quotebot index build`"
            ) from error
        self._db = sqlite3.connect(
            f"file:{path / DATABASE}?mode=ro", uri=True, check_same_thread=False
        )

    def __len__(self) -> int:
        return self.manifest.passages

    def search(self, vector: np.ndarray, k: int) -> list[tuple[int, float]]:
        """The k nearest passages to one unit vector, as (row, cosine) best first."""
        if len(self) == 0:
            return []
        scores, rows = self.dense.search(vector.reshape(1, -1), min(k, len(self)))
        return [(int(r), float(s)) for r, s in zip(rows[0], scores[0], strict=True) if r >= 0]

    def keyword_scores(self, question: str) -> np.ndarray:
        """The BM25 score of every passage for the question."""
        return keywords.scores(self.keywords, question)

    def passages(self, rows: Sequence[int]) -> list[Passage]:
        """The passages at these rows, in the order asked."""
        if not rows:
            return []
        marks = ",".join("?" * len(rows))
        found = {
            row: Passage(article_id, paragraph, text, title, url, published)
            for row, article_id, paragraph, text, title, url, published in self._db.execute(
                "SELECT p.row, p.article_id, p.paragraph, p.text, a.title, a.url, a.published "
                f"FROM passages p JOIN articles a ON a.id = p.article_id WHERE p.row IN ({marks})",
                list(rows),
            )
        }
        return [found[row] for row in rows]

    def all_passages(self) -> list[Passage]:
        """Every passage, in row order."""
        return self.passages(list(range(len(self))))

    def read_articles(self) -> list[Article]:
        """Every indexed article in full, as it was added."""
        paragraphs: dict[str, list[str]] = {}
        for article_id, text in self._db.execute(
            "SELECT article_id, text FROM passages ORDER BY article_id, paragraph"
        ):
            paragraphs.setdefault(article_id, []).append(text)
        return [
            Article(
                info.id,
                info.title,
                tuple(paragraphs.get(info.id, ())),
                info.url,
                info.published,
                info.source or "",
            )
            for info in self.articles()
        ]

    def rows_by_hash(self) -> dict[str, int]:
        """The row of each passage's content hash, to reuse vectors already computed."""
        return dict(self._db.execute("SELECT hash, row FROM passages"))

    def articles(self) -> list[ArticleInfo]:
        """Every indexed article, in the order they were added."""
        return [
            ArticleInfo(*row)
            for row in self._db.execute(
                "SELECT id, title, url, published, source, paragraphs FROM articles ORDER BY rowid"
            )
        ]

    def close(self) -> None:
        self._db.close()


def current_version(index_dir: Path) -> Path | None:
    """The live version's folder, or None when the index dir holds none."""
    try:
        name = (index_dir / CURRENT).read_text().strip()
    except OSError:
        return None
    path = index_dir / name
    return path if name and path.is_dir() else None


def open_index(index_dir: Path) -> Index:
    """Open the live version of the index in index_dir.

    Raises:
        StoreError: there is no index there, or it cannot be read.
    """
    path = current_version(index_dir)
    if path is None:
        raise StoreError(
            f"no index in {index_dir}; build one with `quotebot index build` "
            "(or set QUOTEBOT_INDEX_DIR to where yours is)"
        )
    return Index(path)


def write_version(
    index_dir: Path,
    articles: Iterable[Article],
    passages: Sequence[Passage],
    vectors: np.ndarray,
    model: str,
) -> Path:
    """Write a complete new version of the index and make it live.

    Args:
        index_dir: The index folder (created if missing).
        articles: The articles the passages come from.
        passages: Every passage, in the row order of ``vectors``.
        vectors: Unit vectors, one row per passage.
        model: The embedding model's name, recorded in the manifest.

    Returns:
        The new version's folder.
    """
    index_dir.mkdir(parents=True, exist_ok=True)
    _remove_leftovers(index_dir)
    name = f"v-{time.strftime('%Y%m%dT%H%M%S')}-{secrets.token_hex(3)}"
    tmp = index_dir / f"{_TMP_PREFIX}{name}"
    tmp.mkdir()
    articles = list(articles)

    dense = faiss.IndexFlatIP(vectors.shape[1])
    dense.add(vectors)
    faiss.write_index(dense, str(tmp / DENSE))
    np.save(tmp / VECTORS, vectors)
    keywords.build([p.embedding_text for p in passages], tmp / KEYWORDS)
    _write_database(tmp / DATABASE, articles, passages)
    manifest = Manifest(
        model=model,
        dimension=int(vectors.shape[1]),
        passages=len(passages),
        articles=len(articles),
        created_at=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    )
    (tmp / MANIFEST).write_text(json.dumps(asdict(manifest), indent=2) + "\n")
    _fsync_tree(tmp)

    final = index_dir / name
    os.rename(tmp, final)
    _replace_text(index_dir / CURRENT, name + "\n")
    _remove_old_versions(index_dir, keep={name})
    return final


def _write_database(path: Path, articles: list[Article], passages: Sequence[Passage]) -> None:
    db = sqlite3.connect(path)
    try:
        db.executescript(_SCHEMA)
        db.executemany(
            "INSERT INTO articles VALUES (?, ?, ?, ?, ?, ?)",
            [(a.id, a.title, a.url, a.published, a.source, len(a.paragraphs)) for a in articles],
        )
        db.executemany(
            "INSERT INTO passages VALUES (?, ?, ?, ?, ?)",
            [
                (row, p.article_id, p.paragraph, p.text, p.content_hash)
                for row, p in enumerate(passages)
            ],
        )
        db.commit()
    finally:
        db.close()


def _replace_text(path: Path, text: str) -> None:
    tmp = path.with_name(f"{_TMP_PREFIX}{path.name}")
    with open(tmp, "w") as file:
        file.write(text)
        file.flush()
        os.fsync(file.fileno())
    os.replace(tmp, path)
    _fsync_dir(path.parent)


def _fsync_tree(folder: Path) -> None:
    for child in folder.iterdir():
        if child.is_dir():
            _fsync_tree(child)
            continue
        with open(child, "rb") as file:
            os.fsync(file.fileno())
    _fsync_dir(folder)


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _remove_leftovers(index_dir: Path) -> None:
    """Remove what a killed build left behind (temporary folders)."""
    for child in index_dir.glob(f"{_TMP_PREFIX}*"):
        if child.is_dir():
            shutil.rmtree(child, ignore_errors=True)
        else:
            child.unlink(missing_ok=True)


def _remove_old_versions(index_dir: Path, keep: set[str], spare: int = 1) -> None:
    """Delete old versions, sparing the newest few besides ``keep``.

    A process still answering from a deleted version keeps working: its FAISS index is
    in memory and its open SQLite file stays readable until closed.
    """
    versions = sorted(
        (p for p in index_dir.glob("v-*") if p.is_dir() and p.name not in keep),
        key=lambda p: p.name,
        reverse=True,
    )
    for old in versions[spare:]:
        shutil.rmtree(old, ignore_errors=True)
