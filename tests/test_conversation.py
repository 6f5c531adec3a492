"""Follow-up questions in `quotebot chat`: a question that leans on the last one is searched
made whole from it, one that stands alone is searched as it is, `new` starts afresh, `ask`
stays one-shot; and, measured over the conversations in tests/conversations, follow-ups
find their paragraph far more often in their conversation than alone."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.auxil.cli import ROOT, quotebot
from tests.auxil.corpus import write_article

from quotebot import indexing
from quotebot.retrieval.followup import leans_on_context

TALK = "Who is the Kremlin spokesperson?\nWhen did he address the deployment?\n"


def chat(index: Path, text: str) -> list[dict]:
    done = quotebot("chat", "--json", "--index-dir", index, stdin=text)
    assert done.returncode == 0, done.stderr
    return [json.loads(line) for line in done.stdout.splitlines()]


def test_a_follow_up_is_searched_made_whole_and_new_forgets(sample_index: Path) -> None:
    first, follow_up, fresh = chat(
        sample_index, TALK + "new\nWhen did he address the deployment?\n"
    )
    assert first["searched_as"] == "Who is the Kremlin spokesperson?"
    assert follow_up["searched_as"].startswith("When did he address the deployment? ")
    assert "Kremlin" in follow_up["searched_as"]
    assert fresh["searched_as"] == "When did he address the deployment?"


def test_a_short_question_about_another_article_stands_alone(tmp_path: Path) -> None:
    index = tmp_path / "index"
    indexing.build(index, sorted((ROOT / "tests" / "conversations").glob("*.txt")))
    _, moved_on, follow_up = chat(
        index, "Who coaches Faith Chepkoech?\nWhere is the library?\nWhen did it reopen?\n"
    )
    # "library" is nowhere in the marathon's article: a new topic, though the question is short
    assert moved_on["searched_as"] == "Where is the library?"
    assert "Ashcombe" in moved_on["quote"]
    assert "library" in follow_up["searched_as"] and "Saturday" in follow_up["quote"]


def test_a_thank_you_is_declined_and_the_topic_goes_on(sample_index: Path) -> None:
    thanked, follow_up = chat(sample_index, "Who is the Kremlin spokesperson?\nthank you!\n"
                              "When did he address the deployment?\n")[1:]  # fmt: skip
    assert not thanked["found"] and thanked["searched_as"] == "thank you!"
    assert "Kremlin" in follow_up["searched_as"] and "Peskov" in follow_up["quote"]


def test_a_question_two_articles_answer_leans_on_the_one_talked_about(tmp_path: Path) -> None:
    harbour = write_article(
        tmp_path / "articles",
        "harbour",
        "Port of Vellmar reopens after storm damage repairs",
        "The port of Vellmar reopened to cargo ships on Tuesday, six weeks after a winter storm "
        "tore away part of its northern breakwater.",
        "Harbour master Annika Solberg said the repairs cost 14 million euros, most of it paid "
        "by the regional government.",
    )
    index = tmp_path / "index"
    indexing.build(index, [harbour, ROOT / "tests" / "conversations" / "library.txt"])
    ask = "How much did the repairs cost?\n"
    _, port, _, library = chat(
        index, "Who is the harbour master of Vellmar?\n" + ask
        + "When did the Old Mill Library reopen?\n" + ask,
    )  # fmt: skip
    assert port["searched_as"] == library["searched_as"] == "How much did the repairs cost?"
    assert "14 million euros" in port["quote"] and "3.2 million pounds" in library["quote"]


def test_chat_json_has_the_fields_of_ask_json(sample_index: Path) -> None:
    [talked] = chat(sample_index, "How far is Agadez from Niamey?\n")
    asked = json.loads(quotebot("ask", "--json", "How far is Agadez from Niamey?",
                                "--index-dir", sample_index).stdout)  # fmt: skip
    assert set(talked) == set(asked)
    assert talked["quote"] == asked["quote"]


def test_ask_stays_one_shot(sample_index: Path) -> None:
    done = quotebot("ask", "--json", "-", "--index-dir", sample_index, stdin=TALK)
    _, follow_up = (json.loads(line) for line in done.stdout.splitlines())
    assert follow_up["searched_as"] == "When did he address the deployment?"


def test_a_question_that_stands_alone_switches_topic(sample_index: Path) -> None:
    _, _, switched = chat(sample_index, TALK + "How far is Agadez from Niamey?\n")
    assert switched["searched_as"] == "How far is Agadez from Niamey?"
    assert "500 miles" in switched["quote"]


def test_what_leans_on_the_conversation() -> None:
    for question in ["When did he address the deployment?", "And the population?", "Why?",
                     "What about Mali?", "How many U.S. soldiers are there?", "What is its name?",
                     "Who founded it?", "What happened then?"]:  # fmt: skip
        assert leans_on_context(question), question
    for question in ["How far is Agadez from Niamey?", "Who is Peskov?",
                     "What did the Pentagon say about its troops?", "When was the coup in Niger?",
                     "Is there a hospital in Agadez?", "thank you", "great, thanks!"]:  # fmt: skip
        assert not leans_on_context(question), question


def test_follow_ups_find_their_paragraph_in_the_conversation() -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "measure_followups.py"), "--json"],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    figures = json.loads(done.stdout)
    assert figures["conversations"] >= 20
    assert figures["follow_up_in_conversation"] >= 0.75
    assert figures["follow_up_in_conversation"] >= figures["follow_up_alone"] + 0.25
    assert figures["first_in_conversation"] >= figures["first_alone"]
