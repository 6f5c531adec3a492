"""`quotebot bench scale`: the FAISS index types on synthetic vectors at 100k and 1M passages.

For each size the vectors are written once to a memory-mapped .npy file (as an index
keeps them) with the exact top 10 of each query; then, for each index type, one fresh
process builds the index (build time and peak memory) and another loads it and answers the
queries (latency, recall@10 against exact search, peak memory of the query path).

The vectors are synthetic but shaped like sentence embeddings: unit vectors drawn from a
mixture of clusters in a 48-dimensional subspace of the 384 dimensions, plus a little noise.
Uniform random vectors would be a worst case no text corpus resembles.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import typer
from rich.console import Console
from rich.table import Table

from quotebot.storage.folder import dense

DIMENSION = 384
_CHUNK = 100_000


def synthetic(size: int, seed: int = 0, dimension: int = DIMENSION) -> np.ndarray:
    """``size`` unit vectors shaped like sentence embeddings (see the module docstring)."""
    latent, clusters = 48, 200
    basis = np.random.default_rng(42).standard_normal((latent, dimension)).astype(np.float32)
    centres = np.random.default_rng(43).standard_normal((clusters, latent)).astype(np.float32)
    rng = np.random.default_rng(seed)
    points = centres[rng.integers(0, clusters, size)]
    points += 0.7 * rng.standard_normal((size, latent), dtype=np.float32)
    vectors = points @ basis
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    vectors += 0.05 / np.sqrt(dimension) * rng.standard_normal(vectors.shape, dtype=np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors


def prepare(folder: Path, size: int, queries: int) -> None:
    """Write vectors.npy (memory-mapped, in chunks), queries.npy and the exact top 10."""
    vectors = np.lib.format.open_memmap(
        folder / "vectors.npy", mode="w+", dtype=np.float32, shape=(size, DIMENSION)
    )
    for start in range(0, size, _CHUNK):
        stop = min(size, start + _CHUNK)
        vectors[start:stop] = synthetic(stop - start, seed=start + 1)
    vectors.flush()
    asked = synthetic(queries, seed=size + 7)
    np.save(folder / "queries.npy", asked)
    best = np.full((queries, 10), -np.inf, dtype=np.float32)
    rows = np.zeros((queries, 10), dtype=np.int64)
    for start in range(0, size, _CHUNK):
        scores = asked @ np.asarray(vectors[start : start + _CHUNK]).T
        top = np.argpartition(-scores, 9, axis=1)[:, :10]
        both = np.hstack([best, np.take_along_axis(scores, top, axis=1)])
        ids = np.hstack([rows, top + start])
        keep = np.argsort(-both, axis=1)[:, :10]
        best, rows = np.take_along_axis(both, keep, axis=1), np.take_along_axis(ids, keep, axis=1)
    np.save(folder / "exact.npy", rows)


def _build(folder: str, kind: dense.Kind) -> dict[str, float]:
    import faiss

    vectors = np.load(Path(folder) / "vectors.npy", mmap_mode="r")
    start = time.perf_counter()
    index = dense.build(vectors, kind=kind, flat_limit=0)
    seconds = time.perf_counter() - start
    faiss.write_index(index, str(Path(folder) / f"{kind}.faiss"))
    size = (Path(folder) / f"{kind}.faiss").stat().st_size
    return {"build_s": seconds, "build_peak_mb": peak_mb(), "index_mb": size / 2**20}


def _query(folder: str, kind: str) -> dict[str, float]:
    vectors = np.load(Path(folder) / "vectors.npy", mmap_mode="r")
    asked = np.load(Path(folder) / "queries.npy")
    exact = np.load(Path(folder) / "exact.npy")
    index = dense.load(str(Path(folder) / f"{kind}.faiss"))
    dense.search_vectors(index, vectors, asked[0], 10)  # warm up
    took, found = [], 0
    for query, truth in zip(asked, exact, strict=True):
        start = time.perf_counter()
        hits = dense.search_vectors(index, vectors, query, 10)
        took.append(time.perf_counter() - start)
        found += len(set(truth.tolist()) & {row for row, _ in hits})
    ms = 1000 * np.array(took)
    return {
        "recall_at_10": found / exact.size,
        "p50_ms": float(np.percentile(ms, 50)),
        "p95_ms": float(np.percentile(ms, 95)),
        "query_peak_mb": peak_mb(),
    }


def _store_build(folder: str, size: str) -> dict[str, float]:
    """A real index of ``size`` synthetic passages (text in SQLite, BM25, vectors, FAISS)."""
    from quotebot import embedding, storage
    from quotebot.records import Article, Passage

    count, per_article = int(size), 20
    rng = np.random.default_rng(0)
    words = np.array([f"w{i:05d}" for i in range(20_000)])
    passages = [
        Passage(
            f"a{row // per_article}",
            row % per_article,
            " ".join(text),
            f"Article {row // per_article}",
        )
        for row, text in enumerate(words[rng.zipf(1.3, (count, 60)) % len(words)])
    ]
    articles = [
        Article(
            f"a{i}",
            f"Article {i}",
            tuple(p.text for p in passages[i * per_article : (i + 1) * per_article]),
        )
        for i in range(-(-count // per_article))
    ]
    vectors = np.load(Path(folder) / "vectors.npy", mmap_mode="r")[:count]
    start = time.perf_counter()
    dense = storage.DenseOptions(kind="ivfpq")  # what memory matters for
    version = storage.write_version(
        Path(folder) / "index", articles, passages, vectors, embedding.MODEL_NAME, dense
    )
    seconds = time.perf_counter() - start
    text_mb = sum(len(p.text) for p in passages) / 2**20
    del passages, articles
    size_mb = sum(f.stat().st_size for f in version.iterdir() if f.is_file()) / 2**20
    return {"store_build_s": seconds, "text_mb": text_mb, "index_files_mb": size_mb}


def _store_query(folder: str) -> dict[str, float]:
    """Answer questions from that index; the query path's memory shows what it loads."""
    from quotebot.core import Engine

    engine = Engine(Path(folder) / "index")
    asked = [f"what about w{i:05d} and w{i + 7:05d}?" for i in range(50)]
    engine.answer(asked[0])
    took = []
    for question in asked:
        start = time.perf_counter()
        engine.answer(question)
        took.append(time.perf_counter() - start)
    ms = 1000 * np.array(took)
    return {
        "answer_p50_ms": float(np.percentile(ms, 50)),
        "answer_p95_ms": float(np.percentile(ms, 95)),
        "answer_peak_mb": peak_mb(),
        **_resident(),
    }


def _resident() -> dict[str, float]:
    """Resident memory now, split into the heap (anon) and pages of memory-mapped files."""
    found = {}
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            name, _, value = line.partition(":")
            if name in ("RssAnon", "RssFile"):
                found[f"{name.lower()}_mb"] = int(value.split()[0]) / 1024
    except OSError:
        pass
    return found


def peak_mb() -> float:
    """This process's peak resident memory in MB.

    VmHWM, not ``ru_maxrss``: Linux carries ru_maxrss over fork and exec, so a child
    would report its parent's peak when that was higher.
    """
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _child(*args: str, env: dict[str, str] | None = None) -> dict[str, float]:
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.scale", *args],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, **(env or {})},
    )
    if done.returncode != 0:
        raise RuntimeError(f"scale benchmark step {args[0]} failed:\n{done.stderr[-2000:]}")
    result: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def run(
    sizes: list[int], kinds: list[str], queries: int, say: Any, store: bool = False
) -> list[dict[str, Any]]:
    """One row per (size, kind), each step in its own process.

    With ``store``, at the largest size also a real index (text in SQLite, BM25, IVF-PQ)
    is built and questions answered from it, to show what the query path holds in memory.
    """
    rows = []
    for size in sizes:
        with tempfile.TemporaryDirectory(prefix="quotebot-scale-") as folder:
            say(f"{size:,} vectors: writing them and the exact answers")
            prepare(Path(folder), size, queries)
            for kind in kinds:
                say(f"{size:,} vectors: building {kind}")
                built = _child("build", folder, kind)
                say(f"{size:,} vectors: querying {kind}")
                queried = _child("query", folder, kind)
                rows.append({"passages": size, "kind": kind, **built, **queried})
            if store and size == max(sizes):
                say(f"{size:,} passages: building a whole index")
                lean = {"QUOTEBOT_QDRANT_URL": ""}
                built = _child("store-build", folder, str(size), env=lean)
                say(f"{size:,} passages: answering questions")
                answered = _child("store-query", folder, env=lean)
                rows.append({"passages": size, "kind": "whole index", **built, **answered})
    return rows


def scale(
    size: Annotated[
        list[int] | None,
        typer.Option(metavar="N", help="Passages (repeat). Default: 100000 and 1000000."),
    ] = None,
    kind: Annotated[
        list[str] | None,
        typer.Option(metavar="KIND", help="Index type (repeat). Default: flat, hnsw, ivfpq."),
    ] = None,
    queries: Annotated[int, typer.Option(metavar="N", help="Queries per index.")] = 200,
    store: Annotated[
        bool, typer.Option(help="At the largest size also build and query a whole index.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the rows as JSON.")] = False,
) -> None:
    """Build time, query latency, memory and recall@10 of each FAISS index type at scale."""
    kinds = kind or ["flat", "hnsw", "ivfpq"]
    for name in kinds:
        if name not in ("flat", "hnsw", "ivfpq"):
            raise typer.BadParameter(
                f"unknown index type {name}; choose flat, hnsw or ivfpq", param_hint="--kind"
            )
    load = os.getloadavg()[0]
    with Console(stderr=True).status("scale benchmark") as status:
        rows = run(size or [100_000, 1_000_000], kinds, queries, status.update, store)
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return
    table = Table(
        caption=f"{os.cpu_count()} cores; load {load:.1f} before, {os.getloadavg()[0]:.1f} after"
    )
    columns = [
        ("passages", "{:,}"),
        ("kind", "{}"),
        ("build_s", "{:.1f}"),
        ("build_peak_mb", "{:.0f}"),
        ("index_mb", "{:.0f}"),
        ("p50_ms", "{:.2f}"),
        ("p95_ms", "{:.2f}"),
        ("query_peak_mb", "{:.0f}"),
        ("recall_at_10", "{:.3f}"),
    ]
    for name, _ in columns:
        table.add_column(name, justify="right")
    for row in rows:
        if "build_s" in row:
            table.add_row(*(form.format(row[name]) for name, form in columns))
    wide = Console(width=140)
    wide.print(table)
    for row in rows:
        if "store_build_s" in row:
            wide.print(
                f"whole index of {row['passages']:,} passages ({row['text_mb']:.0f} MB of text, "
                f"{row['index_files_mb']:.0f} MB of files besides the BM25 folder, IVF-PQ): "
                f"built in {row['store_build_s']:.0f} s; answering: p50 "
                f"{row['answer_p50_ms']:.0f} ms, p95 {row['answer_p95_ms']:.0f} ms, "
                f"peak memory {row['answer_peak_mb']:.0f} MB (after: heap "
                f"{row.get('rssanon_mb', 0):.0f} MB, "
                f"mapped files {row.get('rssfile_mb', 0):.0f} MB)"
            )


def pgvector(
    database_url: Annotated[
        str,
        typer.Option(
            "--database-url", metavar="URL", help="A PostgreSQL database with pgvector to use."
        ),
    ],
    size: Annotated[
        list[int] | None, typer.Option(metavar="N", help="Passages (repeat). Default: 100000.")
    ] = None,
    ef_search: Annotated[
        list[int] | None,
        typer.Option(metavar="N", help="hnsw.ef_search to try (repeat). Default: 40 100 200."),
    ] = None,
    queries: Annotated[int, typer.Option(metavar="N", help="Queries per setting.")] = 200,
) -> None:
    """pgvector's HNSW (halfvec, cosine) at scale: load and index build time, size on disk,
    and recall@10 against exact search with p50 / p99 query time for each ef_search, on the
    synthetic vectors of `quotebot bench scale` (in a table of their own, dropped after)."""
    import psycopg

    from quotebot.storage.postgres.index import vector_text

    load = os.getloadavg()[0]
    columns = ("passages", "load s", "HNSW build s", "size MB", "ef_search", "p50 ms", "p99 ms")
    table = Table(*columns, "recall@10", caption=f"{os.cpu_count()} cores; load {load:.1f}")
    for n in size or [100_000]:
        with tempfile.TemporaryDirectory(prefix="quotebot-pgvector-") as tmp:
            folder = Path(tmp)
            prepare(folder, n, queries)
            vectors = np.load(folder / "vectors.npy", mmap_mode="r")
            asked, exact = np.load(folder / "queries.npy"), np.load(folder / "exact.npy")
            with psycopg.connect(database_url, autocommit=True) as connection:
                connection.execute("CREATE EXTENSION IF NOT EXISTS vector")
                connection.execute("DROP TABLE IF EXISTS quotebot_bench_vectors")
                connection.execute(
                    "CREATE TABLE quotebot_bench_vectors "
                    f"(row int PRIMARY KEY, embedding halfvec({DIMENSION}))"
                )
                start = time.perf_counter()
                with connection.cursor().copy(
                    "COPY quotebot_bench_vectors (row, embedding) FROM STDIN"
                ) as copy:
                    for row in range(n):
                        copy.write_row((row, vector_text(vectors[row])))
                loaded = time.perf_counter() - start
                connection.execute("SET maintenance_work_mem = '1GB'")
                start = time.perf_counter()
                connection.execute(
                    "CREATE INDEX ON quotebot_bench_vectors "
                    "USING hnsw (embedding halfvec_cosine_ops)"
                )
                built = time.perf_counter() - start
                sized = connection.execute(
                    "SELECT pg_total_relation_size('quotebot_bench_vectors')"
                ).fetchone()
                bytes_ = int(sized[0]) if sized else 0
                connection.execute("SET enable_seqscan = off")  # the index, as at any size
                for ef in ef_search or [40, 100, 200]:
                    connection.execute(f"SET hnsw.ef_search = {int(ef)}")
                    times, hits = [], 0
                    for query, truth in zip(asked, exact, strict=True):
                        start = time.perf_counter()
                        found = connection.execute(
                            "SELECT row FROM quotebot_bench_vectors "
                            "ORDER BY embedding <=> %s::halfvec LIMIT 10",
                            (vector_text(query),),
                        ).fetchall()
                        times.append(time.perf_counter() - start)
                        hits += len({r for (r,) in found} & set(truth.tolist()))
                    ms = 1000 * np.array(times)
                    table.add_row(
                        f"{n:,}", f"{loaded:.0f}", f"{built:.0f}", f"{bytes_ / 1e6:.0f}", str(ef),
                        f"{np.percentile(ms, 50):.1f}", f"{np.percentile(ms, 99):.1f}",
                        f"{hits / (10 * len(asked)):.3f}",
                    )  # fmt: skip
                connection.execute("DROP TABLE quotebot_bench_vectors")
    Console(width=140).print(table)


def main(argv: list[str]) -> None:
    """The child processes: ``build FOLDER KIND`` and ``query FOLDER KIND``."""
    step, folder, *rest = argv
    if step == "store-build":
        result = _store_build(folder, rest[0])
    elif step == "store-query":
        result = _store_query(folder)
    elif rest and rest[0] in ("flat", "hnsw", "ivfpq"):
        result = _build(folder, rest[0]) if step == "build" else _query(folder, rest[0])  # type: ignore[arg-type]
    else:
        raise SystemExit(f"unknown step {argv}")
    print(json.dumps(result))


if __name__ == "__main__":
    main(sys.argv[1:])
