"""One version of an index folder: FAISS vectors, passage text and article metadata.

Layout of an index folder (how versions come and go: :mod:`quotebot.storage.folder.versions`)::

    CURRENT            the name of the live version (replaced atomically)
    LOCK               held (flock) by the one process changing the index
    v-<seq>-<time>/    one complete version; seq grows by one with every change
        manifest.json  how it was built (model, dimension, counts, format, time)
        dense.faiss    the FAISS index (unit vectors, inner product)
        vectors.npy    the same vectors, row i = passage i (kept for reuse)
        keywords/      the BM25 keyword index over the same passages (bm25s)
        passages.sqlite  articles and passages; passage row i is FAISS id i

A new version is written beside the live one under a temporary name and made live
only when complete; a writer killed at any moment leaves the previous version live.
"""

from __future__ import annotations

import errno
import json
import logging
import sqlite3
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import asdict
from pathlib import Path

import numpy as np

from quotebot.records import Article, ArticleInfo, Passage
from quotebot.storage.folder import dense, keywords
from quotebot.storage.folder.versions import (
    MANIFEST,
    TMP_PREFIX,
    discard,
    hold_version,
    new_version_name,
    publish,
    writer,
)
from quotebot.storage.protocol import IndexDamaged, Manifest, Model, StoreError, check_model

log = logging.getLogger(__name__)

VECTORS = "vectors.npy"
KEYWORDS = "keywords"
DATABASE = "passages.sqlite"

_SCHEMA = """
CREATE TABLE articles (
    id TEXT PRIMARY KEY, title TEXT NOT NULL, url TEXT, published TEXT,
    source TEXT, paragraphs INTEGER NOT NULL, hash TEXT NOT NULL
);
CREATE TABLE passages (
    row INTEGER PRIMARY KEY, article_id TEXT NOT NULL REFERENCES articles(id),
    paragraph INTEGER NOT NULL, text TEXT NOT NULL, hash TEXT NOT NULL,
    part INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX passages_by_article ON passages(article_id, paragraph, part);
"""


def load_manifest(path: Path) -> Manifest:
    """The manifest of the version in ``path``."""
    return Manifest.from_dict(json.loads((path / MANIFEST).read_text()))


class FolderVersion:
    """One opened, read-only version of an index folder (a ``storage.Version``)."""

    broken = False  # files do not go away while the version is held

    def __init__(self, path: Path, model: Model | None = None) -> None:
        """Open the version in ``path``; with ``model``, refuse one that another model made."""
        self.path = path
        # Held until this object is garbage-collected: writers leave the version alone.
        self._in_use = hold_version(path)
        try:
            self._open(path, model)
        except StoreError:
            self._in_use.close()
            raise

    def _open(self, path: Path, model: Model | None) -> None:
        try:
            self.manifest = load_manifest(path)
            check_model(path, self.manifest, model)
            for name, expected in self.manifest.checksums.items():  # before reading any
                if _crc32(path / name) != expected:
                    raise ValueError(f"{name} does not match its checksum")
            self.dense = dense.open_index(path, self.manifest.dense_index)
            self.vectors = np.load(path / VECTORS, mmap_mode="r")
            # An index whose last article was removed has no keyword index (bm25s needs words).
            self.keywords = keywords.load(path / KEYWORDS) if self.manifest.passages else None
            self._frequencies: tuple[dict[str, int], np.ndarray] | None = None
            self._db = sqlite3.connect(
                f"file:{path / DATABASE}?mode=ro", uri=True, check_same_thread=False
            )
            columns = {row[1] for row in self._db.execute("PRAGMA table_info(articles)")}
            self._article_hashes = "hash" in columns  # not in indexes written before them
            parts = {row[1] for row in self._db.execute("PRAGMA table_info(passages)")}
            self._part = "p.part" if "part" in parts else "0"
            self._check(path)
        except (OSError, ValueError, KeyError, TypeError, RuntimeError, sqlite3.Error) as error:
            raise IndexDamaged(
                f"the index in {path} is damaged ({error}); rebuild it with `quotebot index build`"
            ) from error
        shape = (self.manifest.passages, self.manifest.dimension)
        if self.dense.ntotal != shape[0] or self.vectors.shape != shape:
            raise IndexDamaged(
                f"the index in {path} is damaged (its files disagree on the passage count); "
                "rebuild it with `quotebot index build`"
            )

    def _check(self, path: Path) -> None:
        """Refuse a version whose database is damaged: table rows against the manifest, and
        SQLite's own quick check."""
        counts = [
            self._db.execute(f"SELECT count(*) FROM {table}").fetchone()[0]  # noqa: S608
            for table in ("articles", "passages")
        ]
        if counts != [self.manifest.articles, self.manifest.passages]:
            raise ValueError(f"passages.sqlite holds {counts[0]} articles, {counts[1]} passages")
        (verdict,) = self._db.execute("PRAGMA quick_check").fetchone()
        if verdict != "ok":
            raise ValueError(f"passages.sqlite: {verdict}")

    def __len__(self) -> int:
        return self.manifest.passages

    @property
    def where(self) -> str:
        """The version, as messages name it."""
        return str(self.path)

    @property
    def version(self) -> str:
        """Which version this is (what CURRENT names when it is live)."""
        return self.path.name

    def nearest(self, vector: np.ndarray, k: int) -> list[tuple[int, float]]:
        """The k passages nearest to one unit vector, as (row, cosine), best first."""
        return dense.search_vectors(self.dense, self.vectors, vector, k)

    def vectors_of(self, rows: Sequence[int] | np.ndarray) -> np.ndarray:
        """The passages' vectors, row for row."""
        return np.asarray(self.vectors[np.asarray(rows, dtype=np.int64)], dtype=np.float32)

    def keyword_scores(self, tokens: list[str]) -> np.ndarray:
        """The BM25 score of every passage for the question's tokens."""
        if self.keywords is None:  # an index whose last article was removed
            return np.zeros(0, dtype=np.float32)
        return keywords.bm25_scores(self.keywords, tokens)

    def document_frequency(self, term: str) -> int:
        """How many passages hold the (stemmed) term."""
        if self.keywords is None:
            return 0
        if self._frequencies is None:
            self._frequencies = keywords.document_frequencies(self.keywords)
        vocabulary, pointers = self._frequencies
        column = vocabulary.get(term)
        return 0 if column is None else int(pointers[column + 1] - pointers[column])

    def passages(self, rows: Sequence[int]) -> list[Passage]:
        """The passages at these rows, in the order asked."""
        if not rows:
            return []
        marks = ",".join("?" * len(rows))
        found = {
            row: Passage(article_id, paragraph, text, title, url, published, part)
            for row, article_id, paragraph, text, title, url, published, part in self._db.execute(
                "SELECT p.row, p.article_id, p.paragraph, p.text, a.title, a.url, a.published, "
                f"{self._part} FROM passages p JOIN articles a ON a.id = p.article_id "
                f"WHERE p.row IN ({marks})",
                list(rows),
            )
        }
        return [found[row] for row in rows]

    def all_passages(self) -> list[Passage]:
        """Every passage, in row order."""
        return self.passages(list(range(len(self))))

    def read_articles(self) -> list[Article]:
        """Every indexed article in full, as it was added (a long paragraph's pieces joined)."""
        pieces: dict[tuple[str, int], list[str]] = {}
        part = self._part.removeprefix("p.")
        for article_id, paragraph, text in self._db.execute(
            "SELECT article_id, paragraph, text FROM passages "
            f"ORDER BY article_id, paragraph, {part}"
        ):
            pieces.setdefault((article_id, paragraph), []).append(text)
        paragraphs: dict[str, list[str]] = {}
        for (article_id, _), texts in pieces.items():
            paragraphs.setdefault(article_id, []).append(" ".join(texts))
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
        hashes = "hash" if self._article_hashes else "''"
        return [
            ArticleInfo(*row)
            for row in self._db.execute(
                f"SELECT id, title, url, published, source, paragraphs, {hashes} "
                "FROM articles ORDER BY rowid"
            )
        ]

    def close(self) -> None:
        """Release the version now rather than when garbage-collected."""
        self._db.close()
        self._in_use.close()


def _crc32(path: Path) -> str:
    checksum = 0
    with open(path, "rb") as file:
        while block := file.read(1 << 20):
            checksum = zlib.crc32(block, checksum)
    return f"{checksum:08x}"


def write_version(
    index_dir: Path,
    articles: Iterable[Article],
    passages: Sequence[Passage],
    vectors: np.ndarray,
    model: str,
    dense_options: dense.DenseOptions = dense.DEFAULT,
) -> Path:
    """Write a complete new version of the index and make it live.

    Args:
        index_dir: The index folder (created if missing).
        articles: The articles the passages come from.
        passages: Every passage, in the row order of ``vectors``.
        vectors: Unit vectors, one row per passage.
        model: The embedding model's name, recorded in the manifest.
        dense_options: Which FAISS index to write.

    Returns:
        The new version's folder.
    """
    with writer(index_dir):
        name = new_version_name(index_dir)
        tmp = index_dir / f"{TMP_PREFIX}{name}"
        try:
            return _write_version(
                index_dir, tmp, name, list(articles), passages, vectors, model, dense_options
            )
        except BaseException as error:
            discard(tmp)  # never leave a half-written version filling the disk
            if isinstance(error, OSError | RuntimeError | sqlite3.Error):
                raise StoreError(_write_failed(index_dir, error)) from error
            raise


def _write_failed(index_dir: Path, error: BaseException) -> str:
    """One line for a failed write; the live version is untouched."""
    text = str(error)
    full = getattr(error, "errno", None) == errno.ENOSPC or any(
        sign in text for sign in ("No space left", "disk is full", "Disk quota")
    )
    if full:
        return (
            f"no space left on the disk of {index_dir} while writing the new version; "
            "the old one still serves"
        )
    lines = text.strip().splitlines()
    reason = getattr(error, "strerror", None) or (lines[-1] if lines else repr(error))
    return (
        f"could not write a new version of the index in {index_dir} ({reason}); "
        "the old one still serves"
    )


def _write_version(
    index_dir: Path,
    tmp: Path,
    name: str,
    articles: list[Article],
    passages: Sequence[Passage],
    vectors: np.ndarray,
    model: str,
    dense_options: dense.DenseOptions = dense.DEFAULT,
) -> Path:
    tmp.mkdir()
    dense_kind = dense.write(vectors, tmp, dense_options)
    np.save(tmp / VECTORS, vectors)
    if passages:
        keywords.build([p.embedding_text for p in passages], tmp / KEYWORDS)
    _write_database(tmp / DATABASE, articles, passages)
    manifest = Manifest.of(
        model,
        vectors,
        len(passages),
        len(articles),
        dense_kind,
        checksums={
            file: _crc32(tmp / file)
            for file in (dense.FILE, VECTORS, DATABASE, *_keyword_files(tmp))
            if (tmp / file).exists()
        },
    )
    (tmp / MANIFEST).write_text(json.dumps(asdict(manifest), indent=2) + "\n")
    return publish(index_dir, tmp, name)


def _keyword_files(version: Path) -> list[str]:
    folder = version / KEYWORDS
    return [f"{KEYWORDS}/{f.name}" for f in sorted(folder.iterdir())] if folder.is_dir() else []


def _write_database(path: Path, articles: list[Article], passages: Sequence[Passage]) -> None:
    db = sqlite3.connect(path)
    try:
        db.executescript(_SCHEMA)
        db.executemany(
            "INSERT INTO articles VALUES (?, ?, ?, ?, ?, ?, ?)",
            [
                (a.id, a.title, a.url, a.published, a.source, len(a.paragraphs), a.content_hash)
                for a in articles
            ],
        )
        db.executemany(
            "INSERT INTO passages VALUES (?, ?, ?, ?, ?, ?)",
            [
                (row, p.article_id, p.paragraph, p.text, p.content_hash, p.part)
                for row, p in enumerate(passages)
            ],
        )
        db.commit()
    finally:
        db.close()
