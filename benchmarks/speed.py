"""`quotebot bench speed`: how fast indexing and answering are, measured on one set of paragraphs.

Every measurement runs in a fresh Python process, so model loading is counted and peak
memory is that process's own:

- ``plain``: sentence-transformers loads the model and encodes every passage (the baseline);
- ``build``: ``quotebot index build`` on the same articles with one embedding backend;
- ``serve``: opens that index, then times encoding each question alone and answering it
  (search, fusion, quote choice), and checks the right paragraph is in the top 1 / top 5.

Run it as ``python -m benchmarks.speed`` is for those child processes only.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import typer
from rich.console import Console
from rich.table import Table

from benchmarks import scale as bench_scale
from benchmarks.scale import peak_mb

DEV8 = Path("../shared/eval/squad_dev8")
SAMPLE_ARTICLES = Path(__file__).resolve().parents[1] / "articles"  # the clone's sample
SAMPLE_QUESTIONS = [
    {"question": "How far is Agadez from Niamey?"},
    {"question": "Who is the Kremlin spokesperson?"},
    {"question": "When was the coup in Niger?"},
]


@dataclass
class Workload:
    """The articles (one .jsonl file) and questions a benchmark run uses."""

    articles: Path
    questions: list[dict[str, Any]]
    description: str


@dataclass
class Result:
    """One benchmark run: the machine, the baseline and one row per backend."""

    machine: dict[str, Any]
    workload: str
    passages: int
    plain: dict[str, float]
    backends: dict[str, dict[str, float]] = field(default_factory=dict)


def machine() -> dict[str, Any]:
    """The facts that make numbers comparable: CPU, cores, and how loaded the machine is."""
    model = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"cpu": model, "cores": os.cpu_count(), "load_1min": round(os.getloadavg()[0], 2)}


def workload(folder: Path, sample: Path, minimum: int = 200, questions: int = 0) -> Workload:
    """The dev8 articles and questions when ``folder`` holds them, else the sample repeated.

    Args:
        folder: A squad_dev8 folder (articles.jsonl, questions.jsonl).
        sample: The folder of sample articles shipped with quotebot.
        minimum: How many passages the repeated sample reaches at least.
        questions: Use only the first N questions (0: all).
    """
    from quotebot.indexing.passages import split_passages
    from quotebot.sources import read_sources

    if (folder / "articles.jsonl").exists() and (folder / "questions.jsonl").exists():
        asked = [json.loads(line) for line in (folder / "questions.jsonl").open() if line.strip()]
        return Workload(
            folder / "articles.jsonl", asked[: questions or None], f"{folder} (SQuAD dev8)"
        )
    articles = read_sources([sample]).articles
    per_copy = sum(len(split_passages(a)) for a in articles) or 1
    copies = -(-minimum // per_copy)
    out = Path(tempfile.mkdtemp(prefix="quotebot-bench-")) / "articles.jsonl"
    with out.open("w") as file:
        for copy in range(copies):
            for a in articles:
                record = {"id": f"{a.id}-{copy}", "title": a.title, "paragraphs": a.paragraphs}
                file.write(json.dumps(record) + "\n")
    return Workload(out, SAMPLE_QUESTIONS, f"{sample} repeated {copies}x")


def run(work: Workload, backends: list[str], progress: Any = None) -> Result:
    """Run the baseline, then build and serve with each backend, each in its own process."""
    say = progress or (lambda message: None)
    result = Result(machine(), work.description, 0, {})
    say("plain sentence-transformers encode")
    result.plain = _child("plain", str(work.articles))
    result.passages = int(result.plain["passages"])
    with tempfile.TemporaryDirectory(prefix="quotebot-bench-") as tmp:
        questions = Path(tmp) / "questions.jsonl"
        questions.write_text("".join(json.dumps(q) + "\n" for q in work.questions))
        for backend in backends:
            index_dir = Path(tmp) / backend
            say(f"{backend}: index build")
            build = _child("build", str(work.articles), str(index_dir), backend=backend)
            say(f"{backend}: {len(work.questions)} questions")
            serve = _child("serve", str(index_dir), str(questions), backend=backend)
            result.backends[backend] = {
                "build_passages_per_s": build["passages"] / build["seconds"],
                "build_vs_plain": result.plain["seconds"] / build["seconds"],
                "build_peak_mb": build["peak_mb"],
                **serve,
            }
    result.machine["load_1min_after"] = round(os.getloadavg()[0], 2)
    return result


def _child(*args: str, backend: str | None = None) -> dict[str, float]:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}
    if backend:
        env["QUOTEBOT_EMBEDDING_BACKEND"] = backend
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.speed", *args],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(f"benchmark step {args[0]} failed:\n{done.stderr[-2000:]}")
    report: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    report.setdefault("seconds", seconds)
    return report


def _plain(articles: str) -> dict[str, float]:
    """The baseline: load sentence-transformers and encode every passage, nothing else."""
    from sentence_transformers import SentenceTransformer

    from quotebot import embedding
    from quotebot.indexing.passages import split_passages
    from quotebot.sources import read_sources

    texts = [p.embedding_text for a in read_sources([articles]).articles for p in split_passages(a)]
    model = SentenceTransformer(str(embedding.model_path()), device="cpu")
    model.encode(texts, batch_size=32, normalize_embeddings=True, show_progress_bar=False)
    return {"passages": len(texts), "peak_mb": peak_mb()}


def _where(location: str) -> Any:
    """A folder, or a database given by its postgresql:// URL, with the options of the
    settings (the embedding backend each child is given, QUOTEBOT_EMBEDDING_BACKEND)."""
    from quotebot import core
    from quotebot.settings import Settings

    options = core.Options.from_settings(Settings())
    core.configure(options)
    url = location if location.startswith("postgres") else None
    return core.location(Path(location), url, options.dense)


def _build(articles: str, index_dir: str) -> dict[str, float]:
    from quotebot import indexing

    start = time.perf_counter()
    report = indexing.build(_where(index_dir), [articles])
    seconds = time.perf_counter() - start
    return {"passages": report.passages, "peak_mb": peak_mb(), "build_s": seconds}


def _serve(index_dir: str, questions: str) -> dict[str, float]:
    """Time encoding each question alone, then answering it; score the right paragraph."""
    from quotebot import embedding
    from quotebot.answering import read
    from quotebot.core import DEFAULT_K, Engine
    from quotebot.retrieval import rank

    asked = [json.loads(line) for line in Path(questions).read_text().splitlines()]
    engine = Engine(_where(index_dir))
    engine.answer(asked[0]["question"])  # warm up: open the index, load the model
    encode, answer = [], []
    top1 = top5 = scored = 0
    for q in asked:
        start = time.perf_counter()
        embedding.encode([q["question"]])
        encode.append(time.perf_counter() - start)
    reading = []
    for q in asked:  # the reader alone, on passages already ranked
        ranking = rank(engine.index, q["question"], DEFAULT_K)
        start = time.perf_counter()
        read(ranking)
        reading.append(time.perf_counter() - start)
    for q in asked:
        start = time.perf_counter()
        result = engine.answer(q["question"])
        answer.append(time.perf_counter() - start)
        if "article_id" in q:
            found = [(h.passage.article_id, h.passage.paragraph) for h in result.passages]
            truth = (q["article_id"], q["paragraph_index"])
            scored += 1
            top1 += found[:1] == [truth]
            top5 += truth in found[:5]
    ms = 1000 * np.array(answer)
    report = {
        "questions": len(asked),
        "encode_ms": 1000 * float(np.mean(encode)),
        "answer_ms": float(ms.mean()),
        "reader_ms": 1000 * float(np.median(reading)),
        "answer_vs_encode": float(np.mean(answer) / np.mean(encode)),
        "p50_ms": float(np.percentile(ms, 50)),
        "p95_ms": float(np.percentile(ms, 95)),
        "serve_peak_mb": peak_mb(),
    }
    if scored:
        report |= {"top1": top1 / scored, "top5": top5 / scored}
    return report


def table(result: Result) -> Any:
    """The result as a rich table, one column per backend, the baseline in the caption."""

    rows = [
        ("index build, passages/s", "build_passages_per_s", "{:.1f}"),
        ("build vs plain encode", "build_vs_plain", "{:.2f}x"),
        ("build peak memory, MB", "build_peak_mb", "{:.0f}"),
        ("encode one question alone, ms", "encode_ms", "{:.1f}"),
        ("answer one question in a batch, ms", "answer_ms", "{:.1f}"),
        ("of which the reader (median), ms", "reader_ms", "{:.1f}"),
        ("answer / encode alone", "answer_vs_encode", "{:.2f}x"),
        ("single question p50, ms", "p50_ms", "{:.1f}"),
        ("single question p95, ms", "p95_ms", "{:.1f}"),
        ("serving peak memory, MB", "serve_peak_mb", "{:.0f}"),
        ("paragraph top-1", "top1", "{:.3f}"),
        ("paragraph top-5", "top5", "{:.3f}"),
    ]
    plain = result.plain
    table = Table(
        title=f"{result.passages} passages from {result.workload}",
        caption=(
            f"plain sentence-transformers encode (model load included): "
            f"{plain['passages'] / plain['seconds']:.1f} passages/s, "
            f"peak {plain['peak_mb']:.0f} MB. Machine: {result.machine['cpu']}, "
            f"{result.machine['cores']} cores, load {result.machine['load_1min']} before, "
            f"{result.machine['load_1min_after']} after."
        ),
    )
    table.add_column("")
    for backend in result.backends:
        table.add_column(backend, justify="right")
    for label, key, form in rows:
        values = [result.backends[b].get(key) for b in result.backends]
        if any(v is not None for v in values):
            table.add_row(label, *("-" if v is None else form.format(v) for v in values))
    return table


app = typer.Typer(
    help="Measure speed, memory and scale (README, Speed).",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,
)


@app.command()
def speed(
    backend: Annotated[
        list[str] | None,
        typer.Option(
            metavar="NAME", help="Embedding backend to measure (repeat). Default: all three."
        ),
    ] = None,
    data: Annotated[
        Path,
        typer.Option(
            metavar="DIR", help="A squad_dev8 folder; without one the sample is repeated."
        ),
    ] = DEV8,
    questions: Annotated[
        int, typer.Option(metavar="N", help="Ask only the first N questions (0: all).")
    ] = 0,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Index build and question speed of each backend against plain sentence-transformers."""
    from quotebot.embedding import BACKENDS

    chosen = backend or list(BACKENDS)
    unknown = [b for b in chosen if b not in BACKENDS]
    if unknown:
        raise typer.BadParameter(
            f"unknown backend {unknown[0]}; choose from {', '.join(BACKENDS)}",
            param_hint="--backend",
        )
    err = Console(stderr=True)
    work = workload(data, SAMPLE_ARTICLES, questions=questions)
    with err.status("benchmarking") as status:
        result = run(work, chosen, lambda message: status.update(f"benchmarking: {message}"))
    if as_json:
        typer.echo(json.dumps(asdict(result), indent=2))
    else:
        Console().print(table(result))


@app.command()
def stores(
    database_url: Annotated[
        str,
        typer.Option(
            "--database-url", metavar="URL", help="An empty PostgreSQL database to build in."
        ),
    ],
    data: Annotated[
        Path,
        typer.Option(
            metavar="DIR", help="A squad_dev8 folder; without one the sample is repeated."
        ),
    ] = DEV8,
    questions: Annotated[
        int, typer.Option(metavar="N", help="Ask only the first N questions (0: all).")
    ] = 300,
) -> None:
    """Build time, question latency and paragraph top-1 of the folder index beside the
    PostgreSQL one, on the same articles, each step in a fresh process."""

    work = workload(data, SAMPLE_ARTICLES, questions=questions)
    rows: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory(prefix="quotebot-bench-") as tmp:
        asked = Path(tmp) / "questions.jsonl"
        asked.write_text("".join(json.dumps(q) + "\n" for q in work.questions))
        for name, where in (("folder", str(Path(tmp) / "index")), ("postgres", database_url)):
            rows[name] = _child("build", str(work.articles), where)
            rows[name] |= _child("serve", where, str(asked))
            rows[name]["size_mb"] = _where(where).size_on_disk() / 1e6
    table = Table("", "folder (FAISS + files)", "PostgreSQL (pgvector)",
                  caption=f"{work.description}; {machine()}")  # fmt: skip
    for label, key, form in [
        ("passages", "passages", "{:.0f}"),
        ("index build, s", "build_s", "{:.1f}"),
        ("question p50, ms", "p50_ms", "{:.1f}"),
        ("question p95, ms", "p95_ms", "{:.1f}"),
        ("paragraph top-1", "top1", "{:.3f}"),
        ("paragraph top-5", "top5", "{:.3f}"),
        ("size on disk, MB", "size_mb", "{:.1f}"),
    ]:
        table.add_row(label, *(form.format(rows[n].get(key, float("nan"))) for n in rows))
    Console().print(table)


app.command("scale")(bench_scale.scale)
app.command("pgvector")(bench_scale.pgvector)

_WORDS = (
    "the harbour council said ferry services would resume on Monday after storms closed "
    "the north pier for three days while engineers checked the old stone walls"
).split()


def _write_corpus(folder: Path, megabytes: float, paragraph_chars: int) -> None:
    """Text files of about ``megabytes`` MB in paragraphs of about ``paragraph_chars``."""
    rng = np.random.default_rng(7)
    total = int(megabytes * 1e6)
    per_file = 500_000
    for number in range(max(total // per_file, 1)):
        paragraphs, size = [], 0
        while size < per_file:
            words = rng.choice(_WORDS, size=paragraph_chars // 6)
            sentences = [" ".join(words[i : i + 18]) + "." for i in range(0, len(words), 18)]
            paragraphs.append(" ".join(sentences).capitalize())
            size += len(paragraphs[-1]) + 2
        text = f"Harbour news {number}\n\n" + "\n\n".join(paragraphs) + "\n"
        (folder / f"article-{number:04d}.txt").write_text(text)


@app.command()
def memory(
    megabytes: Annotated[
        float, typer.Option("--mb", metavar="MB", help="Megabytes of text to index.")
    ] = 25,
) -> None:
    """Peak memory of `quotebot index build` on MB of text, as ordinary paragraphs
    (~600 characters) and as giant ones (~100 KB each), with the model already exported."""
    from quotebot import embedding

    embedding.encode(["warm up"])  # the one-time ONNX export (its own process) happens here
    table = Table("corpus", "passages", "build s", "peak RSS MB")
    for label, chars in [("ordinary paragraphs", 600), ("giant paragraphs", 100_000)]:
        with tempfile.TemporaryDirectory(prefix="quotebot-bench-") as folder:
            articles = Path(folder) / "articles"
            articles.mkdir()
            _write_corpus(articles, megabytes, chars)
            step = _child("build", str(articles), str(Path(folder) / "index"))
        table.add_row(
            f"{megabytes:g} MB, {label}",
            f"{step['passages']:,.0f}",
            f"{step['seconds']:.0f}",
            f"{step['peak_mb']:.0f}",
        )
    Console().print(table)


def main(argv: list[str]) -> None:
    """The child processes: ``plain ARTICLES``, ``build ARTICLES DIR``, ``serve DIR QUESTIONS``."""
    steps: dict[str, Callable[..., dict[str, float]]] = {
        "plain": _plain,
        "build": _build,
        "serve": _serve,
    }
    step, *args = argv
    print(json.dumps(steps[step](*args)))


if __name__ == "__main__":
    main(sys.argv[1:])
