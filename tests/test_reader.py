"""The reader on real text: candidate spans are exact pieces of the passage, what the question
asks for wins, a number about others does not answer "how many of these", a sentence longer
than one parse is read whole, in overlapping windows, and the check by meaning prefers the span
whose sentence, without it, says what the question asks."""

from __future__ import annotations

from quotebot.answering import meaning, reader
from quotebot.answering.reader import WINDOW, windows

PASSAGE = (
    "The Forth Bridge carries the railway across the Firth of Forth. It was designed by "
    "John Fowler and Benjamin Baker, and it opened on 4 March 1890 after seven years of work. "
    "The main spans are 521 metres long."
)


def read(question: str, text: str = PASSAGE) -> list[reader.Candidate]:
    terms = {t: 1.0 for t in reader.keywords.terms(question) if t in reader.keywords.terms(text)}
    analysed = reader.analyse(question, terms)
    return reader.read(analysed, [text], [{"passage_first": 1.0}], sentence_limit=None)


def test_every_candidate_is_an_exact_piece_of_the_passage() -> None:
    found = read("Who designed the Forth Bridge?")
    assert found
    for c in found:
        assert PASSAGE[c.start : c.end] == c.text and c.text.strip() == c.text


def test_the_span_of_the_kind_asked_for_wins() -> None:
    assert read("When did the Forth Bridge open?")[0].text == "4 March 1890"
    assert read("How long are the main spans of the bridge?")[0].text.startswith("521 metres")
    assert "John Fowler" in read("Who designed the Forth Bridge?")[0].text


def test_a_sentence_longer_than_a_window_is_read_in_overlapping_parts() -> None:
    filler = ", ".join(f"the {n}th pier of grey stone" for n in range(200))
    text = f"The viaduct has {filler}, and the viaduct opened in 1932 to trains"
    assert len(text) > 5 * WINDOW
    parts = windows(0, len(text), text)
    assert parts[0][0] == 0 and parts[-1][1] == len(text)
    assert all(later[0] < earlier[1] for earlier, later in zip(parts, parts[1:], strict=False))
    best = read("When did the viaduct open?", text)[0]
    assert best.text == "1932" and text[best.start : best.end] == "1932"


def test_probabilities_sum_to_one() -> None:
    found = read("Who designed the Forth Bridge?")
    p = reader.probabilities(found)
    assert abs(p.sum() - 1.0) < 1e-9 and p[0] == p.max()


KREMLIN = (
    "Dmitry Peskov, a spokesperson for the Kremlin, addressed the Russian deployment on "
    "Friday, saying that the agreement is part of ongoing efforts."
)


def test_the_check_by_meaning_prefers_the_span_the_question_asks_for() -> None:
    question = "Who spoke for the Kremlin?"
    found = [c for c in read(question, KREMLIN) if c.text in ("Dmitry Peskov", "Russian")]
    assert {c.text for c in found} == {"Dmitry Peskov", "Russian"}
    similarity = meaning.cloze(question, "who", [KREMLIN], found)
    cosine = {c.text: s for c, s in zip(found, similarity, strict=True)}
    assert cosine["Dmitry Peskov"] > cosine["Russian"]
    checked = meaning.check(question, "who", [KREMLIN], read(question, KREMLIN))
    assert len(checked) <= meaning.CHECKED
    assert checked[0].text == "Dmitry Peskov" and "cloze" in checked[0].features


def test_a_number_about_others_does_not_answer_how_many_of_them() -> None:
    text = "About 100 Russian soldiers arrived at the base, where 1,000 U.S. soldiers are based."
    russian = [c.text for c in read("How many Russian soldiers are at the base?", text)]
    assert "About 100" in russian or "100" in russian
    assert not {"1,000", "1,000 U.S. soldiers"} & set(russian)
    american = [c.text for c in read("How many U.S. soldiers are at the base?", text)]
    assert "1,000" in american and "About 100" not in american
