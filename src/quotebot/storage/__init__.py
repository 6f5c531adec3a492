"""The index on disk: FAISS vectors, passage text and article metadata, one version at a time.

Layout of an index folder (how versions come and go: :mod:`quotebot.storage.versions`)::

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
import time
import zlib
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from quotebot.records import Article, ArticleInfo, Passage
from quotebot.storage import dense, keywords, postgres
from quotebot.storage.versions import (
    CURRENT,
    LOCK,
    MANIFEST,
    TMP_PREFIX,
    IndexDamaged,
    IndexLocked,
    StoreError,
    complete_versions,
    current_version,
    discard,
    hold_version,
    new_version_name,
    publish,
    set_current,
    writer,
)

log = logging.getLogger(__name__)

FORMAT_VERSION = 1
VECTORS = "vectors.npy"
KEYWORDS = "keywords"
DATABASE = "passages.sqlite"
_TMP_PREFIX = TMP_PREFIX

__all__ = [
    "CURRENT",
    "LOCK",
    "MANIFEST",
    "Index",
    "IndexDamaged",
    "IndexLocked",
    "Manifest",
    "StoreError",
    "current_version",
    "complete_versions",
    "open_index",
    "recover",
    "write_version",
    "writer",
]

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


@dataclass(frozen=True)
class Manifest:
    """How an index version was built; saved beside it as manifest.json."""

    model: str
    dimension: int
    passages: int
    articles: int
    format_version: int = FORMAT_VERSION
    created_at: str = ""
    dense_index: str = "flat"  # the FAISS index type (quotebot.storage.dense): flat, hnsw or ivfpq
    checksums: dict[str, str] = field(default_factory=dict)  # file name -> CRC-32, hex

    @classmethod
    def of(
        cls,
        model: str,
        vectors: np.ndarray,
        passages: int,
        articles: int,
        dense_index: str,
        checksums: dict[str, str] | None = None,
    ) -> Manifest:
        """The manifest of a version written now."""
        return cls(
            model=model,
            dimension=int(vectors.shape[1]),
            passages=passages,
            articles=articles,
            created_at=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            dense_index=dense_index,
            checksums=checksums or {},
        )

    @classmethod
    def load(cls, path: Path) -> Manifest:
        return cls.from_dict(json.loads((path / MANIFEST).read_text()))

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Manifest:
        """A saved manifest (keys it does not know are left out)."""
        return cls(**{key: data[key] for key in cls.__dataclass_fields__ if key in data})


Model = tuple[str, int]
"""The embedding model's name and dimension, as the manifest records them."""


class Index:
    """One opened, read-only version of the index."""

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
            self.manifest = Manifest.load(path)
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


def check_model(where: Path | str, manifest: Manifest, model: Model | None) -> None:
    """Refuse an index whose vectors another model (or a newer quotebot) made."""
    if manifest.format_version > FORMAT_VERSION:
        raise StoreError(
            f"the index in {where} was written by a newer quotebot (format "
            f"{manifest.format_version}); upgrade quotebot or rebuild it with "
            "`quotebot index build`"
        )
    if model is not None and (manifest.model, manifest.dimension) != model:
        raise StoreError(
            f"the index in {where} was built with the model {manifest.model} "
            f"({manifest.dimension} dimensions), but quotebot embeds with "
            f"{model[0]} ({model[1]}); rebuild it with `quotebot index build`"
        )


def open_index(index_dir: Path, model: Model | None = None, *, writing: bool = False) -> Index:
    """Open the live version of the index in index_dir (with ``model``, only if that model
    made it: what answers and adds to an index must embed as it was embedded). A damaged
    live version is an error for a writer (what it adds would drop what the damaged version
    holds); a reader gets the newest good version before it, with a warning.

    Raises:
        StoreError: there is no index there, or it cannot be read.
    """
    while True:
        path = current_version(index_dir)
        if path is None:
            fallback = _newest_good(index_dir, model)
            if fallback is not None:
                return fallback
            raise StoreError(
                f"no index in {index_dir}; build one with `quotebot index build` "
                "(or set QUOTEBOT_INDEX_DIR to where yours is)"
            )
        try:
            return Index(path, model)
        except StoreError as error:
            if current_version(index_dir) != path:
                continue  # a newer version went live (and this one was deleted) as we opened it
            older = None if writing else _newest_good(index_dir, model, before=path)
            if writing or not isinstance(error, IndexDamaged) or older is None:
                raise
            log.warning(
                "%s; meanwhile answering from the version before it, %s", error, older.version
            )
            return older


def _newest_good(index_dir: Path, model: Model | None, before: Path | None = None) -> Index | None:
    """The newest complete version (older than ``before``, if given) that opens, opened."""
    versions = complete_versions(index_dir)  # oldest first
    if before is not None:
        versions = versions[: versions.index(before)] if before in versions else []
    for version in reversed(versions):
        try:
            index = Index(version, model)
        except StoreError:
            continue
        if before is None:
            log.warning("%s cannot be read; using the newest good version, %s", CURRENT, version)
        return index
    return None


def recover(index_dir: Path) -> Path | None:
    """Make the newest good version live again when CURRENT is unreadable (garbled, empty,
    naming a missing folder) while versions exist; call it holding the writer lock.

    Returns:
        The version made live, or None when CURRENT was fine or no version exists.

    Raises:
        StoreError: versions exist, but none of them can be opened; nothing is touched.
    """
    if current_version(index_dir) is not None or not complete_versions(index_dir):
        return None
    good = _newest_good(index_dir, None)
    if good is None:
        raise StoreError(
            f"{index_dir / CURRENT} cannot be read and no version in {index_dir} opens; "
            "nothing was changed (rebuild it with `quotebot index build` into another folder)"
        )
    good.close()
    set_current(index_dir, good.path)
    return good.path


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
    with writer(index_dir):
        name = new_version_name(index_dir)
        tmp = index_dir / f"{_TMP_PREFIX}{name}"
        try:
            return _write_version(index_dir, tmp, name, list(articles), passages, vectors, model)
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
) -> Path:
    tmp.mkdir()
    dense_kind = dense.write(vectors, tmp)
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


# -- where an index lives: a folder (the default) or a PostgreSQL database -------------------

Location = Path | postgres.Database
"""An index folder, or the database that holds the index (``QUOTEBOT_DATABASE_URL``)."""
AnyIndex = Index | postgres.PostgresIndex
"""An opened index, from a folder or a database: the same small interface."""


def open_live(location: Location, model: Model | None = None, *, writing: bool = False) -> AnyIndex:
    """The live index at ``location`` (see :func:`open_index`)."""
    if isinstance(location, postgres.Database):
        return postgres.PostgresIndex(location, model)
    return open_index(location, model, writing=writing)


def live_version(location: Location) -> str | None:
    """Which version is live (None: no index yet); cheap enough to ask before each question."""
    if isinstance(location, postgres.Database):
        return postgres.live_version(location)
    version = current_version(location)
    return None if version is None else version.name


def live_index(
    location: Location, model: Model | None = None, *, strict: bool = False
) -> AnyIndex | None:
    """The live index, or None when there is none yet.

    With ``strict`` an index that cannot be used (damaged, another model) is an error,
    so that adding to it never silently drops what it holds; without, it counts as none
    (a build from scratch replaces it).
    """
    if not has_index(location):
        return None
    try:
        return open_live(location, model, writing=True)
    except StoreError:
        if strict:
            raise
        return None


def has_index(location: Location) -> bool:
    """Whether anything was ever indexed there (a damaged index counts)."""
    if isinstance(location, postgres.Database):
        return postgres.live_version(location) is not None
    return current_version(location) is not None or bool(complete_versions(location))


class Change:
    """One change of the index, under its writer lock: what is live, then the new version."""

    def __init__(self, location: Location, connection: object | None = None) -> None:
        self.location = location
        self.notes: list[str] = []
        self._connection = connection

    def live(self, model: Model, *, strict: bool) -> AnyIndex | None:
        """The live index under this change's lock (see :func:`live_index`)."""
        return live_index(self.location, model, strict=strict)

    def write(
        self,
        articles: Sequence[Article],
        passages: Sequence[Passage],
        vectors: np.ndarray,
        model: str,
    ) -> str:
        """Write the complete new version and make it live; its name."""
        if isinstance(self.location, postgres.Database):
            manifest = Manifest.of(model, vectors, len(passages), len(articles), "pgvector-hnsw")
            return postgres.write_version(
                self._connection, articles, passages, vectors, asdict(manifest)
            )
        return write_version(self.location, articles, passages, vectors, model).name


@contextmanager
def changing(location: Location, dimension: int) -> Iterator[Change]:
    """Hold the writer lock of the index at ``location`` for one change.

    A folder: its lock file (another writer is refused, :class:`IndexLocked`), and an
    unreadable CURRENT recovered first. A database: a transaction with an advisory lock
    (another writer waits), committed when the block ends.
    """
    if isinstance(location, postgres.Database):
        with postgres.writer(location, dimension) as connection:
            yield Change(location, connection)
        return
    with writer(location):
        change = Change(location)
        version = recover(location)
        if version is not None:
            change.notes.append(
                f"{location / CURRENT} could not be read; recovered the newest good "
                f"version, {version.name}"
            )
        yield change
