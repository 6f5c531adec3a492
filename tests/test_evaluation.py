"""`quotebot eval`: SQuAD's answer scores, the table and JSON, and the dev8 figures."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tests.auxil.cli import quotebot
from tests.auxil.corpus import lighthouse
from tests.conftest import ARTICLES, SEED_ARTICLE_ID, read_jsonl

from quotebot.evaluation import exact_match, normalize, token_f1


def test_squad_normalisation_and_scores() -> None:
    assert normalize("The  Normans, in France!") == "normans in france"
    assert exact_match("the 10th century", "10th century") == 1.0
    assert token_f1("the 10th and 11th centuries", "10th and 11th centuries") == 1.0
    assert token_f1("500 miles from the capital", "500 miles") == pytest.approx(2 * 0.5 / 1.5)
    assert token_f1("Peskov", "Lloyd Austin") == 0.0


def write_questions(path: Path, items: list[tuple[str, list[str], str, int]]) -> Path:
    path.write_text(
        "".join(
            json.dumps({"question": q, "answers": a, "article_id": art, "paragraph_index": p})
            + "\n"
            for q, a, art, p in items
        )
    )
    return path


def test_eval_scores_in_corpus_and_held_out_questions(tmp_path: Path) -> None:
    questions = write_questions(
        tmp_path / "questions.jsonl",
        [
            ("How far is Agadez from Niamey?", ["500 miles"], SEED_ARTICLE_ID, 1),
            ("When was the coup in Niger?", ["July 2023"], SEED_ARTICLE_ID, 3),
            ("Who designed the Ardnamurchan lighthouse?", ["Alan Stevenson"], "lighthouse", 1),
            ("How many steps lead up to the lantern room?", ["152"], "lighthouse", 2),
        ],
    )
    held_out = lighthouse(tmp_path / "held-out")
    result = quotebot("eval", questions, "--articles", ARTICLES, "--held-out", held_out, "--json")
    assert result.returncode == 0, result.stderr
    ours, dense, keyword = json.loads(result.stdout)["scores"]
    assert [s["mode"] for s in (ours, dense, keyword)] == ["hybrid", "dense", "keyword"]
    assert ours["questions"] == 2 and ours["held_out"] == 2
    assert ours["top1"] == ours["quote_contains"] == 1.0
    assert ours["exact_match"] >= 0.5 and ours["f1"] >= ours["exact_match"]
    assert ours["answered"] == 1.0 and ours["declined"] == 1.0
    assert dense["answered"] is None and dense["declined"] is None and dense["exact_match"] is None

    table = quotebot("eval", questions, "--articles", ARTICLES, "--held-out", held_out)
    assert table.returncode == 0, table.stderr
    assert "hybrid" in table.stdout and "keyword" in table.stdout and "1.000" in table.stdout


def test_eval_reads_squad2_files_with_unanswerable_questions(tmp_path: Path) -> None:
    questions = tmp_path / "squad2.jsonl"
    items = [
        ("How far is Agadez from Niamey?", ["500 miles"], 1, False),
        ("What is the boiling point of mercury in Niamey?", [], 1, True),
        ("When was the coup in Niger?", ["July 2023"], 3, False),
    ]
    questions.write_text(
        "".join(
            json.dumps(
                {"question": q, "answers": a, "article_id": SEED_ARTICLE_ID,
                 "paragraph_index": p, "is_impossible": impossible}
            ) + "\n"
            for q, a, p, impossible in items
        )
    )  # fmt: skip
    result = quotebot("eval", questions, "--articles", ARTICLES, "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    ours = report["scores"][0]
    assert ours["questions"] == 2 and ours["impossible"] == 1
    assert ours["impossible_declined"] in (0.0, 1.0)
    assert 0.0 <= ours["shown_coverage"] <= 1.0
    thresholds = [point["threshold"] for point in report["curve"]]
    assert thresholds[0] == 0.0 and thresholds[-1] == 1.0
    assert report["curve"][0]["coverage"] == ours["answered"]  # 0 shows every found answer
    assert report["curve"][-1]["coverage"] == 0.0
    table = quotebot("eval", questions, "--articles", ARTICLES)
    assert "unanswerable" in table.stdout and "QUOTEBOT_ANSWER_THRESHOLD" in table.stdout


def test_eval_bad_input_is_one_line(tmp_path: Path) -> None:
    broken = tmp_path / "questions.jsonl"
    broken.write_text('{"question": "no answers or article"}\n')
    result = quotebot("eval", broken, "--articles", ARTICLES)
    assert result.returncode == 1
    assert "line 1" in result.stderr and "Traceback" not in result.stderr
    none = write_questions(tmp_path / "other.jsonl", [("Who?", ["x"], "elsewhere", 0)])
    result = quotebot("eval", none, "--articles", ARTICLES)
    assert result.returncode == 1 and "no question" in result.stderr


@pytest.mark.slow
def test_dev8_figures(shared: Path, tmp_path: Path) -> None:
    """Index 6 of the 8 dev articles, ask all 859 questions: the README's table."""
    dev8 = shared / "eval" / "squad_dev8"
    articles = read_jsonl(dev8 / "articles.jsonl")
    indexed, held_out = tmp_path / "indexed.jsonl", tmp_path / "held-out.jsonl"
    indexed.write_text("".join(json.dumps(a) + "\n" for i, a in enumerate(articles) if i % 4))
    held_out.write_text("".join(json.dumps(a) + "\n" for i, a in enumerate(articles) if not i % 4))
    result = quotebot(
        "eval", dev8 / "questions.jsonl", "--articles", indexed, "--held-out", held_out, "--json"
    )
    assert result.returncode == 0, result.stderr
    ours, dense, keyword = json.loads(result.stdout)["scores"]
    assert ours["questions"] + ours["held_out"] == 859
    assert ours["top1"] >= 0.9 and ours["top5"] >= 0.98
    assert ours["top1"] > max(dense["top1"], keyword["top1"])
    assert ours["quote_contains"] >= 0.7
    assert ours["answered"] >= 0.8 and ours["declined"] >= 0.9
    assert ours["exact_match"] >= 0.3 and ours["shown_precision"] >= 0.7
