"""`--explain`, `why` in the chat: what each stage found, which stage declined, and a case
built so that the keyword stage and the meaning stage put different paragraphs first."""

from __future__ import annotations

import json
from pathlib import Path

from tests.auxil.cli import quotebot

from quotebot.core import Engine

HARBOUR = """Harbour news from Stromness

The harbour trust met on Tuesday. The harbour trust discussed the harbour trust accounts, \
the harbour trust minutes and the harbour trust website, and the harbour trust adjourned.

The trust that runs the port was founded in 1901 by the merchant Mary Shaw, who gave the pier.
"""


def test_explain_names_the_stage_that_declined(sample_index: Path) -> None:
    asked = quotebot(
        "ask",
        "--json",
        "--explain",
        "How old is the mayor of Timbuktu?",
        "--index-dir",
        sample_index,
    )
    result = json.loads(asked.stdout)
    why = result["explain"]
    assert not result["found"]
    assert why["searched_as"] == "How old is the mayor of Timbuktu?"
    assert why["decision"]["declined_by"] == "found decision"
    assert why["decision"]["found"] < why["decision"]["found_threshold"]
    assert "Timbuktu" in why["missing_words"] and "mayor" in why["missing_words"]
    assert set(why["stages"]) == {"keyword", "dense", "fused", "reranked"}
    plain = quotebot(
        "ask", "--explain", "How old is the mayor of Timbuktu?", "--index-dir", sample_index
    )
    assert "declined by the found decision" in plain.stdout
    [missing] = [line for line in plain.stdout.splitlines() if "no passage holds:" in line]
    assert "mayor" in missing and "Timbuktu" in missing
    assert max(len(line) for line in plain.stdout.splitlines()) <= 80


def test_explain_shows_which_stage_put_which_paragraph_first(tmp_path: Path) -> None:
    (tmp_path / "harbour.txt").write_text(HARBOUR)
    index = tmp_path / "index"
    assert (
        quotebot("index", "build", tmp_path / "harbour.txt", "--index-dir", index).returncode == 0
    )
    result = Engine(index).answer("When was the harbour trust created?", explain=True)
    why = result.explanation
    assert why is not None
    stages = why["stages"]
    # The paragraph that repeats the question's words wins the keyword stage and, through it,
    # the fused and reranked ones. The meaning stage had the right one first, and so does the
    # reader: it finds no answer in the first and reads the second.
    assert stages["keyword"][0]["paragraph"] == 1
    assert stages["dense"][0]["paragraph"] == 2
    assert stages["fused"][0]["paragraph"] == 1 and stages["reranked"][0]["paragraph"] == 1
    assert [span["passage"] for span in why["reader"]["spans"]] == [2] * len(why["reader"]["spans"])
    assert result.found and "1901" in result.quote
    assert result.passages[0].passage.paragraph == 1  # the one quoted (counted from 0)


def test_why_in_the_chat_explains_the_last_answer(sample_index: Path) -> None:
    said = quotebot(
        "chat", "--index-dir", sample_index, stdin="why\nHow far is Agadez from Niamey?\nwhy\n"
    )
    out = said.stdout
    assert out.index("Ask a question first") < out.index("500 miles") < out.index("searched as:")
    assert "searched as: How far is Agadez from Niamey?" in out
    assert "answered" in out
