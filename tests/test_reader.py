"""The shipped neural reader on real text: its spans are whole words taken from the passage,
it finds what the question asks for, reads the best part of a sentence too long to read whole,
refuses model files that are not the ones shipped, and reads a question said chattily as the
question itself."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from quotebot.answering import WINDOW_CHARS, reader, window
from quotebot.core import plain_question
from quotebot.retrieval import evidence
from quotebot.text import stems

PASSAGE = (
    "The Forth Bridge carries the railway across the Firth of Forth. It was designed by "
    "John Fowler and Benjamin Baker, and it opened on 4 March 1890 after seven years of work. "
    "The main spans are 521 metres long."
)


class Terms:
    """A one-passage collection, for weighing a question's terms."""

    def __init__(self, text: str) -> None:
        self.text = text

    def __len__(self) -> int:
        return 10

    def document_frequency(self, term: str) -> int:
        return 1 if term in stems(self.text) else 0


def read(question: str, text: str = PASSAGE) -> list[reader.Candidate]:
    start, end = window(evidence.analyse(question, Terms(text)), text)
    return reader.load().read(question, [(0, text[start:end], start)])


def test_every_span_is_whole_words_of_the_passage() -> None:
    found = read("Who designed the Forth Bridge?")
    assert found
    for c in found:
        assert PASSAGE[c.start : c.end] == c.text and c.text.strip() == c.text
        assert c.start == 0 or not PASSAGE[c.start - 1].isalnum()
        assert c.end == len(PASSAGE) or not PASSAGE[c.end].isalnum()


def test_the_reader_finds_what_is_asked() -> None:
    assert read("When did the Forth Bridge open?")[0].text == "4 March 1890"
    assert read("How long are the main spans of the bridge?")[0].text.startswith("521 metres")
    assert "John Fowler" in read("Who designed the Forth Bridge?")[0].text
    assert read("hey, when did the forth bridge open")[0].text == "4 March 1890"


def test_a_sentence_longer_than_a_window_is_read_where_the_question_points() -> None:
    filler = ", ".join(f"the {n}th pier of grey stone" for n in range(200))
    text = f"The viaduct has {filler}, and the viaduct opened in 1932 to trains"
    assert len(text) > 5 * WINDOW_CHARS
    start, end = window(evidence.analyse("When did the viaduct open?", Terms(text)), text)
    assert end - start <= WINDOW_CHARS and "1932" in text[start:end]
    best = read("When did the viaduct open?", text)[0]
    assert best.text == "1932" and text[best.start : best.end] == "1932"


def test_probabilities_sum_to_one() -> None:
    p = reader.probabilities(read("Who designed the Forth Bridge?"))
    assert abs(p.sum() - 1.0) < 1e-9 and p[0] == p.max()


def test_a_changed_model_file_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / "reader"
    shutil.copytree(reader.MODEL_DIR, folder)
    model = folder / reader.ONNX_FILE
    data = bytearray(model.read_bytes())
    data[-100] ^= 0xFF
    model.write_bytes(bytes(data))
    with pytest.raises(reader.ReaderMissing, match="sha256"):
        reader.Reader(folder)
    (folder / reader.MANIFEST_FILE).unlink()
    with pytest.raises(reader.ReaderMissing, match="not installed"):
        reader.Reader(folder)


@pytest.mark.parametrize(
    "said",
    [
        "hey, who coaches Faith Chepkoech?",
        "@quotebot who coaches Faith Chepkoech?",
        "Hi bot, can you tell me who coaches Faith Chepkoech?",
        "  who   coaches Faith Chepkoech?",
    ],
)
def test_chatty_openings_are_not_the_question(said: str) -> None:
    assert plain_question(said) == "who coaches Faith Chepkoech?"


def test_a_question_that_is_only_a_greeting_stays_as_it_is() -> None:
    assert plain_question("hello!") == "hello!"
    assert plain_question("So what?") == "what?"
