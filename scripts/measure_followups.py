"""Measure follow-up questions through `quotebot chat --json`: the right-paragraph rate of the
follow-ups asked in their conversation against the same questions asked alone, and of the
first questions in the conversation against alone.

    .venv/bin/python scripts/measure_followups.py [--corpus own|squad_dev8] [--json]

tests/conversations/conversations.jsonl holds two-turn conversations (a question, then a
follow-up about the same paragraph that leans on it: "When did he ...?"). ``own``: the
sample article and the news articles beside that file; ``squad_dev8``: the SQuAD dev8
articles in ../shared (v1.1 paragraph numbers). Every conversation is asked in ONE chat
session, one after another without ``new``, so a first question also shows that a question
standing on its own is not dragged back to the last conversation's article.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HERE = ROOT / "tests" / "conversations"


def sources(corpus: str, shared: Path) -> list[Path]:
    if corpus == "own":
        return [ROOT / "articles", *sorted(HERE.glob("*.txt"))]
    return [shared / "eval" / corpus / "articles.jsonl"]


def run(*args: str, stdin: str = "") -> str:
    done = subprocess.run([sys.executable, "-m", "quotebot", *args], input=stdin,
                          capture_output=True, text=True, check=True)  # fmt: skip
    return done.stdout


def measure(corpus: str, shared: Path) -> dict[str, float]:
    rows = [json.loads(line) for line in (HERE / "conversations.jsonl").read_text().splitlines()]
    rows = [r for r in rows if r["corpus"] == corpus]
    with tempfile.TemporaryDirectory(prefix="quotebot-followups-") as tmp:
        index = str(Path(tmp) / "index")
        run("index", "build", *map(str, sources(corpus, shared)), "--index-dir", index)
        asked = "".join(f"{r['first']}\n{r['follow']}\n" for r in rows)
        talk = [
            json.loads(line)
            for line in run("chat", "--json", "--index-dir", index, stdin=asked).splitlines()
        ]
        alone = [
            json.loads(line)
            for line in run("ask", "--json", "-", "--index-dir", index, stdin=asked).splitlines()
        ]

    def right(answer: dict, row: dict) -> bool:
        top = answer["passages"][:1]
        return bool(top) and (top[0]["article_id"], top[0]["paragraph"]) == (
            row["article_id"],
            row["paragraph"],
        )

    n = len(rows)
    return {
        "conversations": n,
        "follow_up_in_conversation": sum(right(talk[2 * i + 1], r) for i, r in enumerate(rows)) / n,
        "follow_up_alone": sum(right(alone[2 * i + 1], r) for i, r in enumerate(rows)) / n,
        "first_in_conversation": sum(right(talk[2 * i], r) for i, r in enumerate(rows)) / n,
        "first_alone": sum(right(alone[2 * i], r) for i, r in enumerate(rows)) / n,
        "follow_up_found_in_conversation": sum(talk[2 * i + 1]["found"] for i in range(n)) / n,
        "follow_up_found_alone": sum(alone[2 * i + 1]["found"] for i in range(n)) / n,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", choices=["own", "squad_dev8"], default="own")
    parser.add_argument("--shared", type=Path, default=ROOT.parent / "shared")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    figures = measure(args.corpus, args.shared)
    if args.json:
        print(json.dumps(figures))
        return
    for name, value in figures.items():
        print(f"{name:34} {value:.3f}" if isinstance(value, float) else f"{name:34} {value}")


if __name__ == "__main__":
    main()
