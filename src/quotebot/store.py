"""The index on disk: FAISS vectors, passage text and article metadata, one version at a time.

Layout of an index folder::

    CURRENT            the name of the live version (replaced atomically)
    LOCK               held (flock) by the one process changing the index
    v-<seq>-<time>/    one complete version; seq grows by one with every change
        manifest.json  how it was built (model, dimension, counts, format, time)
        dense.faiss    the FAISS index (unit vectors, inner product)
        vectors.npy    the same vectors, row i = passage i (kept for reuse)
        keywords/      the BM25 keyword index over the same passages (bm25s)
        passages.sqlite  articles and passages; passage row i is FAISS id i

A new version is written beside the live one under a temporary name, renamed into
place when complete, and only then made live by replacing CURRENT; a writer killed at
any moment leaves the previous version live and whole, and the next writer removes
what it left behind. A process reading a version holds a shared lock on its manifest,
so no writer deletes a version that is still answering questions.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import IO

import faiss
import numpy as np

from quotebot import embedding, keywords
from quotebot.articles import Article
from quotebot.passages import Passage

FORMAT_VERSION = 1
CURRENT = "CURRENT"
LOCK = "LOCK"
_VERSION_PREFIX = "v-"
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


class IndexLocked(StoreError):
    """Another process is changing the index right now."""


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
        # Held until this object is garbage-collected: writers leave the version alone.
        self._in_use = _hold_version(path)
        try:
            self._open(path)
        except StoreError:
            self._in_use.close()
            raise

    def _open(self, path: Path) -> None:
        try:
            self.manifest = Manifest.load(path)
            _check_model(path, self.manifest)
            self.dense = faiss.read_index(str(path / DENSE))
            self.vectors = np.load(path / VECTORS, mmap_mode="r")
            # An index whose last article was removed has no keyword index (bm25s needs words).
            self.keywords = keywords.load(path / KEYWORDS) if self.manifest.passages else None
            self._db = sqlite3.connect(
                f"file:{path / DATABASE}?mode=ro", uri=True, check_same_thread=False
            )
        except (OSError, ValueError, KeyError, TypeError, RuntimeError, sqlite3.Error) as error:
            raise StoreError(
                f"the index in {path} is damaged ({error}); rebuild it with `quotebot index build`"
            ) from error
        shape = (self.manifest.passages, self.manifest.dimension)
        if self.dense.ntotal != shape[0] or self.vectors.shape != shape:
            raise StoreError(
                f"the index in {path} is damaged (its files disagree on the passage count); "
                "rebuild it with `quotebot index build`"
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
        if self.keywords is None:
            return np.zeros(0, dtype=np.float32)
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
        """Release the version now rather than when garbage-collected."""
        self._db.close()
        self._in_use.close()


def _hold_version(path: Path) -> IO[bytes]:
    """A shared lock on a version's manifest, which writers test before deleting it."""
    try:
        file = open(path / MANIFEST, "rb")  # noqa: SIM115  (held as long as the Index lives)
    except OSError as error:
        raise StoreError(f"the index version {path} is gone ({error.strerror})") from error
    try:
        fcntl.flock(file, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError as error:
        file.close()
        raise StoreError(f"the index version {path} is being deleted") from error
    return file


def _check_model(path: Path, manifest: Manifest) -> None:
    """Refuse an index whose vectors another model (or a newer quotebot) made."""
    if manifest.format_version > FORMAT_VERSION:
        raise StoreError(
            f"the index in {path} was written by a newer quotebot (format "
            f"{manifest.format_version}); upgrade quotebot or rebuild it with "
            "`quotebot index build`"
        )
    if (manifest.model, manifest.dimension) != (embedding.MODEL_NAME, embedding.DIMENSION):
        raise StoreError(
            f"the index in {path} was built with the model {manifest.model} "
            f"({manifest.dimension} dimensions), but quotebot embeds with "
            f"{embedding.MODEL_NAME} ({embedding.DIMENSION}); rebuild it with "
            "`quotebot index build`"
        )


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
    while True:
        path = current_version(index_dir)
        if path is None:
            raise StoreError(
                f"no index in {index_dir}; build one with `quotebot index build` "
                "(or set QUOTEBOT_INDEX_DIR to where yours is)"
            )
        try:
            return Index(path)
        except StoreError:
            # A newer version went live (and this one was deleted) as we opened it: open that.
            if current_version(index_dir) == path:
                raise


_held = threading.local()


@contextmanager
def writer(index_dir: Path) -> Iterator[None]:
    """Hold the index's writer lock while changing it; one process (and thread) at a time.

    On entry it removes what a killed writer left behind. Re-entrant within a thread.

    Raises:
        IndexLocked: another process or thread holds the lock.
    """
    key = str(index_dir.resolve())
    held: set[str] = _held.__dict__.setdefault("dirs", set())
    if key in held:
        yield
        return
    try:
        index_dir.mkdir(parents=True, exist_ok=True)
        file = open(index_dir / LOCK, "a+")  # noqa: SIM115  (closed below)
    except OSError as error:
        raise StoreError(
            f"cannot write the index in {index_dir} ({error.strerror or error}); "
            "choose another folder with --index-dir or QUOTEBOT_INDEX_DIR"
        ) from error
    with file:
        try:
            fcntl.flock(file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            file.seek(0)
            holder = file.read().strip() or "another process"
            raise IndexLocked(
                f"the index in {index_dir} is being changed by {holder}; "
                "try again when that has finished"
            ) from None
        file.truncate(0)
        file.write(f"quotebot (pid {os.getpid()}, since {time.strftime('%H:%M:%S')})\n")
        file.flush()
        held.add(key)
        try:
            _remove_leftovers(index_dir)
            yield
        finally:
            held.discard(key)
            file.truncate(0)


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
        try:
            return _write_version(index_dir, list(articles), passages, vectors, model)
        except OSError as error:  # a full disk, say; the live version is untouched
            raise StoreError(
                f"could not write a new version of the index in {index_dir} "
                f"({error.strerror or error}); the previous version is still live"
            ) from error


def _write_version(
    index_dir: Path,
    articles: list[Article],
    passages: Sequence[Passage],
    vectors: np.ndarray,
    model: str,
) -> Path:
    sequence = max((_sequence(p.name) for p in _versions(index_dir)), default=0) + 1
    name = f"{_VERSION_PREFIX}{sequence:06d}-{time.strftime('%Y%m%dT%H%M%S')}"
    tmp = index_dir / f"{_TMP_PREFIX}{name}"
    tmp.mkdir()

    dense = faiss.IndexFlatIP(vectors.shape[1])
    dense.add(vectors)
    faiss.write_index(dense, str(tmp / DENSE))
    np.save(tmp / VECTORS, vectors)
    if passages:
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
    _fsync_dir(index_dir)
    _replace_text(index_dir / CURRENT, name + "\n")
    _remove_old_versions(index_dir)
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


def _versions(index_dir: Path) -> list[Path]:
    """Every version folder, oldest first."""
    found = [p for p in index_dir.glob(f"{_VERSION_PREFIX}*") if p.is_dir()]
    return sorted(found, key=lambda p: (_sequence(p.name), p.name))


def _sequence(name: str) -> int:
    """The sequence number in a version's name (0 for names of an older layout)."""
    number = name.removeprefix(_VERSION_PREFIX).split("-")[0]
    return int(number) if number.isdigit() and len(number) == 6 else 0


def _remove_leftovers(index_dir: Path) -> None:
    """Remove what a killed writer left behind: temporary files and folders, versions
    that never went live, and old versions no process is using."""
    for child in index_dir.glob(f"{_TMP_PREFIX}*"):
        if child.is_dir():
            shutil.rmtree(child, ignore_errors=True)
        else:
            child.unlink(missing_ok=True)
    live = current_version(index_dir)
    if live is not None:
        for version in _versions(index_dir):
            if _sequence(version.name) > _sequence(live.name):
                _delete_version(version)
    _remove_old_versions(index_dir)


def _remove_old_versions(index_dir: Path, spare: int = 1) -> None:
    """Delete versions older than the live one, sparing the newest ``spare`` of them
    and any that a running process still has open."""
    live = current_version(index_dir)
    if live is None:
        return
    older = [v for v in _versions(index_dir) if _sequence(v.name) < _sequence(live.name)]
    for old in older[: max(len(older) - spare, 0)]:
        _delete_version(old)


def _delete_version(version: Path) -> None:
    """Delete a version unless a reader holds it; renamed first, so that a writer killed
    halfway leaves only a temporary folder for the next one to remove."""
    try:
        file = open(version / MANIFEST, "rb")  # noqa: SIM115
    except FileNotFoundError:
        file = None  # never finished or already half deleted: nobody can be reading it
    except OSError:
        return
    try:
        if file is not None:
            fcntl.flock(file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        doomed = version.with_name(f"{_TMP_PREFIX}old-{version.name}")
        os.rename(version, doomed)
        shutil.rmtree(doomed, ignore_errors=True)
    except BlockingIOError:
        return  # in use; a later writer deletes it
    finally:
        if file is not None:
            file.close()
