"""Writing a version of the index in PostgreSQL: one transaction under an advisory lock,
made live in the same commit; the keyword weights computed as bm25s computes them."""

from __future__ import annotations

import json
import logging
import math
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np

from quotebot.records import Article, Passage
from quotebot.storage.postgres.connection import Conninfo, connect, reason
from quotebot.storage.postgres.index import vector_text
from quotebot.storage.postgres.schema import DATA_TABLES, LOCK_KEY, ensure_schema
from quotebot.storage.protocol import StoreError
from quotebot.text import tokenize

log = logging.getLogger(__name__)
K1, B = 1.5, 0.75  # bm25s's defaults ("lucene")


@contextmanager
def writer(database: Conninfo, dimension: int) -> Iterator[Any]:
    """A transaction holding the index's advisory lock: what is written in it goes live
    together when the block ends, or not at all (an error, a kill, a lost connection).

    Another writer waits its turn, and says so. The tables are created (or their schema
    checked) under the lock, so two first writers do not race to create them.
    """
    connection = connect(database)
    try:
        with connection.transaction():
            (got,) = connection.execute(
                "SELECT pg_try_advisory_xact_lock(%s)", (LOCK_KEY,)
            ).fetchone()
            if not got:
                start = time.monotonic()
                log.warning("waiting for another writer of the index in %s", database)
                connection.execute("SELECT pg_advisory_xact_lock(%s)", (LOCK_KEY,))
                log.info("waited %.1f s", time.monotonic() - start)
            ensure_schema(connection, database, dimension)
            yield connection
    except StoreError:
        raise
    except Exception as error:
        import psycopg

        if isinstance(error, psycopg.Error):
            raise StoreError(
                f"the index in {database} was not changed: {reason(error, database)}"
            ) from None
        raise
    finally:
        connection.close()


def write_version(
    connection: Any,
    articles: Sequence[Article],
    passages: Sequence[Passage],
    vectors: np.ndarray,
    manifest: dict[str, Any],
) -> str:
    """Write a complete new version in the writer's transaction and make it live with it;
    versions older than the one it replaces are deleted. Returns the new version's number."""
    (latest,) = connection.execute(
        "SELECT coalesce(max(version), 0) FROM quotebot_versions"
    ).fetchone()
    version = int(latest) + 1
    connection.execute(
        "INSERT INTO quotebot_versions (version, manifest) VALUES (%s, %s)",
        (version, json.dumps(manifest)),
    )
    with connection.cursor() as cursor:
        with cursor.copy(
            "COPY quotebot_articles (version, position, id, title, url, published, source, "
            "paragraphs, hash) FROM STDIN"
        ) as copy:
            for position, a in enumerate(articles):
                copy.write_row(
                    (version, position, a.id, a.title, a.url, a.published, a.source,
                     json.dumps(list(a.paragraphs)), a.content_hash)
                )  # fmt: skip
        with cursor.copy(
            "COPY quotebot_passages (version, row, article_id, paragraph, part, text, hash, "
            "embedding) FROM STDIN"
        ) as copy:
            for row, (p, vector) in enumerate(zip(passages, vectors, strict=True)):
                copy.write_row(
                    (version, row, p.article_id, p.paragraph, p.part, p.text, p.content_hash,
                     vector_text(vector))
                )  # fmt: skip
        postings, frequencies = _bm25([p.embedding_text for p in passages])
        with cursor.copy("COPY quotebot_postings (version, term, row, weight) FROM STDIN") as copy:
            for term, row, weight in postings:
                copy.write_row((version, term, row, weight))
        with cursor.copy("COPY quotebot_terms (version, term, df) FROM STDIN") as copy:
            for term, df in frequencies.items():
                copy.write_row((version, term, df))
    connection.execute(
        "INSERT INTO quotebot_meta VALUES ('live', %s) "
        "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        (str(version),),
    )
    for table in (*DATA_TABLES, "quotebot_versions"):
        connection.execute(f"DELETE FROM {table} WHERE version < %s", (version - 1,))  # noqa: S608
    connection.execute("SELECT pg_notify('quotebot_index', %s)", (str(version),))
    return str(version)


def _bm25(texts: list[str]) -> tuple[list[tuple[str, int, float]], dict[str, int]]:
    """Each term's weight in each passage, as bm25s ("lucene", k1 1.5, b 0.75) scores it:
    idf · tf / (tf + k1 · (1 − b + b · length / average length))."""
    documents = [Counter(tokens) for tokens in tokenize(texts)]
    lengths = [sum(d.values()) for d in documents]
    average = (sum(lengths) / len(lengths)) if lengths else 1.0
    frequencies: Counter[str] = Counter()
    for document in documents:
        frequencies.update(document.keys())
    n = len(documents)
    idf = {t: math.log(1 + (n - df + 0.5) / (df + 0.5)) for t, df in frequencies.items()}
    postings = []
    for row, (document, length) in enumerate(zip(documents, lengths, strict=True)):
        norm = K1 * (1 - B + B * length / (average or 1.0))
        for term, tf in document.items():
            postings.append((term, row, float(np.float32(idf[term] * tf / (tf + norm)))))
    return postings, dict(frequencies)


def size_on_disk(database: Conninfo) -> int:
    """Bytes the index's tables (and their indexes) take in the database."""
    with connect(database, autocommit=True) as connection:
        (size,) = connection.execute(
            "SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0) FROM pg_class c "
            "WHERE c.relname LIKE 'quotebot_%%' AND c.relkind = 'r'"
        ).fetchone()
    return int(size)
