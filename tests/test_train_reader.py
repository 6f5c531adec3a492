"""The reader's fitting script: the negatives it makes, and the shipped reader recovered from
its int8 export reads as the shipped one does (no training data needed)."""

from __future__ import annotations

import json
import random
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).parents[1] / "scripts"))

import train_reader  # noqa: E402
from train_reader import Example  # noqa: E402

from quotebot.answering import reader  # noqa: E402

PARAGRAPH = (
    "The first bridge over the river was built in 1850 by the city council. "
    "It was the largest bridge in the north of the country."
)


def made(make, question: str, context: str = PARAGRAPH) -> list[Example]:  # type: ignore[no-untyped-def]
    example = Example(question, context, context.index("1850"), "1850", "squad")
    return make([[example]], random.Random(0), share=1.0)


def test_a_not_is_added_only_where_the_paragraph_states_no_negation() -> None:
    [negated] = made(train_reader.negated, "When was the first bridge built?")
    assert negated.question == "When wasn't the first bridge built?"
    assert negated.start == -1 and negated.source == "squad-negated"
    assert made(train_reader.negated, "When was it built?", PARAGRAPH + " It was never paid.") == []


def test_a_word_turns_to_its_opposite_only_where_the_paragraph_never_uses_it() -> None:
    [opposed] = made(train_reader.opposed, "When was the first bridge built?")
    assert opposed.question == "When was the last bridge built?"
    assert opposed.start == -1
    assert made(train_reader.opposed, "When was it built?") == []
    said = PARAGRAPH + " The last one fell in 1990."
    assert made(train_reader.opposed, "When was the first bridge built?", said) == []


def test_the_sentence_that_answers_is_removed_only_where_the_rest_never_says_it() -> None:
    more = PARAGRAPH + " Its towers were painted red and white by the council's own workers."
    [removed] = made(train_reader.removed, "When was the first bridge built?", more)
    assert removed.context == (
        "It was the largest bridge in the north of the country. "
        "Its towers were painted red and white by the council's own workers."
    )
    assert removed.start == -1 and removed.source == "squad-removed"
    repeated = more + " A plaque says 1850 under the city's arms."
    assert made(train_reader.removed, "When was the first bridge built?", repeated) == []


def test_qamr_answers_are_read_in_their_whole_paragraph_as_plain_text(tmp_path: Path) -> None:
    (tmp_path / "filtered").mkdir()
    (tmp_path / "wiki-sentences.tsv").write_text(
        "Wiki1k:wikinews:7:2:1\tThe council -LRB- elected in 2019 -RRB- paid "
        "`` $ 5 million '' for it .\n"
        "Wiki1k:wikinews:7:2:0\tThe bridge was n't finished until 1850 .\n"
    )
    row = "Wiki1k:wikinews:7:2:1\t1\t3\t0\t1\t{}\t{}\t1:5\t2:5\n"
    (tmp_path / "filtered" / "dev.tsv").write_text(
        row.format("How much did the council pay?", "9 10 11") + row.format("Who paid?", "0 1")
    )
    (tmp_path / "filtered" / "test.tsv").write_text(
        row.format("How much did the council pay?", "10 11")
    )
    [rows] = train_reader.read_qamr(tmp_path, skip=set())
    assert [(e.question, e.text) for e in rows] == [
        ("How much did the council pay?", "$5 million"),
        ("Who paid?", "The council"),
    ]
    assert rows[0].context == (
        "The bridge wasn't finished until 1850. "
        'The council (elected in 2019) paid "$5 million" for it.'
    )
    assert train_reader.read_qamr(tmp_path, skip={"Wiki1k:wikinews:7"}) == []


def test_the_recovered_reader_reads_as_the_shipped_one(tmp_path: Path) -> None:
    pytest.importorskip("torch")
    import torch
    from transformers import AutoModelForQuestionAnswering, AutoTokenizer

    train_reader.recover(reader.MODEL_DIR / reader.ONNX_FILE, tmp_path / "model")
    model = AutoModelForQuestionAnswering.from_pretrained(tmp_path / "model").eval()
    shipped = reader.load()
    question, text = "When was the first bridge built?", PARAGRAPH
    [best, *_] = shipped.read(question, [(0, text, 0)])
    assert best.text == "1850"
    tokens = AutoTokenizer.from_pretrained(tmp_path / "model")
    with torch.no_grad():
        out = model(**tokens(question, text, return_tensors="pt"))
    start, end = out.start_logits[0].numpy(), out.end_logits[0].numpy()
    words = tokens(question, text)["input_ids"]
    span = tokens.decode(words[int(np.argmax(start)) : int(np.argmax(end)) + 1])
    assert span == "1850"


def test_the_card_made_from_the_shipped_manifest_describes_its_stages_as_shipped() -> None:
    manifest = json.loads((reader.MODEL_DIR / "manifest.json").read_text())
    card = train_reader.card(manifest["fit"], manifest["examples"])
    shipped = (reader.MODEL_DIR / "README.md").read_text()
    paragraphs = [p for p in card.split("\n\n") if p.startswith("Then a ")]
    assert [p.split(",")[0] for p in paragraphs] == ["Then a second stage", "Then a fourth stage"]
    assert all(p in shipped for p in paragraphs)


def test_the_squad_stage_fits_only_the_squad_dev8_articles_it_is_given(shared: Path) -> None:
    folder = shared / train_reader.DEV8
    articles = train_reader.dev8_articles(shared)
    normans = {  # v1.1's paragraphs and 2.0's
        paragraph
        for name in ("articles.jsonl", "squad2_articles.jsonl")
        for line in (folder / name).read_text().splitlines()
        if (article := json.loads(line))["id"] == "Normans"
        for paragraph in article["paragraphs"]
    }
    answerable, impossible = train_reader.read_squad_folder(folder, articles - {"Normans"})
    examples = [e for rows in answerable for e in rows] + impossible
    assert examples and impossible
    assert all(e.context in normans for e in examples)
    assert train_reader.read_squad_folder(folder, articles) == ([], [])


def test_each_article_is_measured_with_a_reader_that_never_fitted_it(tmp_path: Path) -> None:
    pytest.importorskip("sklearn")
    import fit_reader

    rotation = tmp_path / "fitted-on-normans"
    rotation.mkdir()
    for name in (reader.ONNX_FILE, reader.TOKENIZER_FILE):
        (rotation / name).symlink_to(reader.MODEL_DIR / name)
    manifest = json.loads((reader.MODEL_DIR / reader.MANIFEST_FILE).read_text())
    manifest["fit"]["squad"] = {"fitted_dev8": ["Normans"]}
    (rotation / reader.MANIFEST_FILE).write_text(json.dumps(manifest))

    shipped = fit_reader.held_out_readers([])  # it fitted none of squad_dev8
    assert shipped("Normans") is shipped("Pharmacy")
    both = fit_reader.held_out_readers([rotation, reader.MODEL_DIR])
    assert both("Normans") is not both("Pharmacy")
    assert both("Pharmacy") is both("Construction")
    with pytest.raises(SystemExit, match="Normans"):
        fit_reader.held_out_readers([rotation])("Normans")
