"""The reader: a neural span reader that finds the short answer in the best sentences.

all-MiniLM-L6-v2 with a SQuAD 2.0-style head (start and end logits over the passage; both on
the first token for "no answer"), fitted by ``scripts/train_reader.py`` on open QA data (the
card: ``models/reader/README.md``) and shipped inside the package as int8 ONNX. It reads the
question with a window of each passage (the sentences that share most of the question's words,
and their neighbours), in one batch; each window gives its best spans and its no-answer score.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from quotebot.answering import spans

MODEL_DIR = Path(__file__).parents[1] / "models" / "reader"
ONNX_FILE = "reader-int8.onnx"
TOKENIZER_FILE = "tokenizer.json"
MANIFEST_FILE = "manifest.json"
MAX_QUESTION_TOKENS = 64  # a longer question is cut: its start says what it asks
MAX_WINDOW_TOKENS = 384  # question and window together


class ReaderMissing(Exception):
    """The shipped reader is missing or not the file its manifest names (a broken install)."""


@dataclass(frozen=True)
class Candidate:
    """A span of a passage that may answer the question."""

    passage: int  # index into the passages read
    start: int  # character offsets in the passage's text
    end: int
    text: str
    score: float  # the reader's start + end logits
    no_answer: float  # the no-answer score of the window it was read in


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def write_manifest(folder: Path, record: dict[str, Any]) -> None:
    """Record the sha256 of the shipped files (checked on load) with the fit's record."""
    files = {name: _sha256(folder / name) for name in (ONNX_FILE, TOKENIZER_FILE)}
    text = json.dumps({"sha256": files, **record}, indent=1, sort_keys=True) + "\n"
    (folder / MANIFEST_FILE).write_text(text)


@cache
def model() -> dict[str, Any]:
    """The fitted decision models (``models/reader.json``, written by
    ``scripts/fit_reader.py``): whether the articles answer, and the answer confidence."""
    text = resources.files("quotebot").joinpath("models/reader.json").read_text()
    return dict(json.loads(text))


class Reader:
    """The shipped reader on ONNX Runtime, checked against its manifest when loaded."""

    def __init__(self, folder: Path = MODEL_DIR, threads: int = 0) -> None:
        import onnxruntime
        from tokenizers import Tokenizer

        try:
            manifest = json.loads((folder / MANIFEST_FILE).read_text())
            for name, digest in manifest["sha256"].items():
                if _sha256(folder / name) != digest:
                    raise ReaderMissing(f"the reader's {name} is not the one shipped (sha256)")
        except (OSError, KeyError, ValueError) as error:
            raise ReaderMissing(f"the reader is not installed in {folder}: {error}") from error
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads
        options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
        self.session = onnxruntime.InferenceSession(
            str(folder / ONNX_FILE), options, providers=["CPUExecutionProvider"]
        )
        self.tokenizer = Tokenizer.from_file(str(folder / TOKENIZER_FILE))
        self.tokenizer.no_padding()
        self.tokenizer.no_truncation()
        cls, sep = self.tokenizer.token_to_id("[CLS]"), self.tokenizer.token_to_id("[SEP]")
        if cls is None or sep is None:
            raise ReaderMissing(f"the reader's tokenizer in {folder} has no [CLS] or [SEP]")
        self.special = (cls, sep)
        self._lock = threading.Lock()

    def read(
        self, question: str, windows: Sequence[tuple[int, str, int]], n: int = 5
    ) -> list[Candidate]:
        """The best spans of the windows, best first (at most n from each window).

        Args:
            question: The question.
            windows: (passage, text, offset): a window of the passage's text and where it
                starts in the passage.
            n: Spans kept per window.
        """
        if not windows:
            return []
        asked = self.tokenizer.encode(question, add_special_tokens=False)
        q_ids = asked.ids[:MAX_QUESTION_TOKENS]
        room = MAX_WINDOW_TOKENS - len(q_ids) - 3
        encoded = self.tokenizer.encode_batch([t for _, t, _ in windows], add_special_tokens=False)
        rows = [(e.ids[:room], e.offsets[:room]) for e in encoded]
        cls, sep = self.special
        width = max(len(q_ids) + len(body) + 3 for body, _ in rows)
        ids = np.zeros((len(rows), width), dtype=np.int64)
        types = np.zeros_like(ids)
        mask = np.zeros_like(ids)
        for r, (body, _) in enumerate(rows):
            seq = [cls, *q_ids, sep, *body, sep]
            ids[r, : len(seq)] = seq
            types[r, len(q_ids) + 2 : len(seq)] = 1
            mask[r, : len(seq)] = 1
        with self._lock:  # one run at a time: each already uses every core
            start, end = self.session.run(
                None, {"input_ids": ids, "attention_mask": mask, "token_type_ids": types}
            )
        found = []
        for r, ((passage, text, offset), (body, offs)) in enumerate(
            zip(windows, rows, strict=True)
        ):
            first = len(q_ids) + 2
            offsets: list[tuple[int, int] | None] = [None] * width
            offsets[first : first + len(body)] = offs
            null = spans.no_answer_score(start[r], end[r])
            for s in spans.best_spans(start[r], end[r], offsets, n):
                begin, stop = _trim(text, s.start, s.end)
                if stop > begin:
                    found.append(
                        Candidate(
                            passage, offset + begin, offset + stop, text[begin:stop], s.score, null
                        )
                    )
        found.sort(key=lambda c: -c.score)
        unique: dict[tuple[int, int, int], Candidate] = {}  # two token spans, one in words
        for c in found:
            unique.setdefault((c.passage, c.start, c.end), c)
        return list(unique.values())


def _trim(text: str, start: int, end: int) -> tuple[int, int]:
    """A span of whole words ("Agade" -> "Agadez"), without the punctuation and spaces at its
    edges ("Peskov," -> "Peskov")."""
    while 0 < start < len(text) and text[start - 1].isalnum() and text[start].isalnum():
        start -= 1
    while 0 < end < len(text) and text[end - 1].isalnum() and text[end].isalnum():
        end += 1
    while start < end and not text[start].isalnum() and text[start] not in "$£€\"'(“":
        start += 1
    while end > start and not text[end - 1].isalnum() and text[end - 1] not in "%)\"'”":
        end -= 1
    return start, end


_loaded: Reader | None = None
_load_lock = threading.Lock()


def load() -> Reader:
    """The shipped reader, loaded once per process.

    Raises:
        ReaderMissing: the model files are missing or changed.
    """
    global _loaded
    with _load_lock:
        if _loaded is None:
            _loaded = Reader()
        return _loaded


def probabilities(found: Sequence[Candidate]) -> np.ndarray:
    """Each candidate's share of exp(score) among those found."""
    if not found:
        return np.zeros(0)
    scores = np.array([c.score for c in found])
    exp = np.exp(scores - scores.max())
    return np.asarray(exp / exp.sum())
