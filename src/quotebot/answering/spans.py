"""From a span reader's logits to answer spans: the best (start, end) pairs over the context's
tokens under a length cap, and the no-answer score they are held against.

Shared by the shipped reader (:mod:`.reader`, ONNX) and the script that fits it (torch), so
that the held-out figures the fit prints are those of the code that answers.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

MAX_ANSWER_TOKENS = 30  # SQuAD's answers are short; longer spans are nearly always wrong
TOP = 20  # start and end positions considered per window


@dataclass(frozen=True)
class Span:
    """A span of a window's context: character offsets into that context and its score
    (start logit + end logit), to compare with the window's no-answer score."""

    start: int
    end: int
    score: float


def best_spans(
    start_logits: np.ndarray,
    end_logits: np.ndarray,
    offsets: list[tuple[int, int] | None],
    n: int = 5,
    max_tokens: int = MAX_ANSWER_TOKENS,
) -> list[Span]:
    """The n best spans of one window, best first.

    Args:
        start_logits, end_logits: The reader's logits over the window's tokens.
        offsets: Each token's (start, end) characters in the context, None for a token that is
            not the context's (the question, the special tokens).
        n: How many spans to return.
        max_tokens: The longest span, in tokens.
    """
    context = [i for i, o in enumerate(offsets) if o is not None]
    if not context:
        return []
    idx = np.asarray(context)
    starts = idx[np.argsort(start_logits[idx])[::-1][:TOP]]
    ends = idx[np.argsort(end_logits[idx])[::-1][:TOP]]
    found: dict[tuple[int, int], float] = {}
    for s in starts:
        for e in ends:
            if e < s or e - s + 1 > max_tokens:
                continue
            first, last = offsets[s], offsets[e]
            assert first is not None and last is not None
            span = (first[0], last[1])
            score = float(start_logits[s] + end_logits[e])
            if score > found.get(span, -np.inf):
                found[span] = score
    ranked = sorted(found.items(), key=lambda item: -item[1])[:n]
    return [Span(s, e, score) for (s, e), score in ranked]


def no_answer_score(start_logits: np.ndarray, end_logits: np.ndarray) -> float:
    """The window's no-answer score: both ends on the first ([CLS]) token."""
    return float(start_logits[0] + end_logits[0])
