"""Questions that ask what someone said: "What did Korhonen say?", "what does the port authority
say about the dredging?".

What someone said is a clause or a whole sentence, not the short span the reader was fitted to
find: it scores "no answer" above every span, and such a question would be declined although
the article reports the words. When the reader declines one, the sentences of a best passage
that report what the asked speaker said are the answer, quoted whole (no short answer).

A question that asks for a part of what was said ("what did X say the price was?") is left to
the reader, and so is one whose speaker or topic no reporting sentence names.
"""

from __future__ import annotations

import re

from quotebot.retrieval import Ranking
from quotebot.text import split_sentences, stems

SEARCHED = 3  # the best passages looked at, best first

_ASKS = re.compile(
    r"^what\s+(?:did|does|do|has|have|had|will|would)\s+(?P<who>.+?)\s+"
    r"(?:say|said|tell|told|state|stated|announce|announced|add|added|claim|claimed|argue|argued"
    r"|write|written|wrote|warn|warned|explain|explained|comment|commented)"
    r"(?:\s+(?:about|on|of|regarding|to)\s+(?P<about>[^?]+?))?[\s?.!]*$",
    re.IGNORECASE,
)
_NEGATION = re.compile(r"\b(?:not|never|no)\b|n't\b", re.IGNORECASE)
_REPORTING = (
    r"(?:sa(?:y|ys|id|ying)|t(?:ell|ells|old|elling)|stat(?:e|es|ed|ing)|announc(?:e|es|ed|ing)"
    r"|add(?:s|ed|ing)?|claim(?:s|ed|ing)?|argu(?:e|es|ed|ing)|wr(?:ote|ites|iting)"
    r"|warn(?:s|ed|ing)?|explain(?:s|ed|ing)?|comment(?:s|ed|ing)?|not(?:e|es|ed|ing)"
    r"|insist(?:s|ed|ing)?|assur(?:e|es|ed|ing)|den(?:y|ies|ied|ying)|admit(?:s|ted|ting)?"
    r"|confirm(?:s|ed|ing)?|repl(?:y|ies|ied|ying)|urg(?:e|es|ed|ing)|according\s+to)\b"
)
_REPORTS = re.compile(r"\b" + _REPORTING, re.IGNORECASE)
_GOES_ON = re.compile(
    r"^\W*(?:he|she|they)\s+(?:\w+\s+)?"
    + _REPORTING
    + r"|,\W*(?:he|she|they)\s+"
    + _REPORTING
    + r"\W*$",
    re.IGNORECASE,
)
"""A sentence that carries on the last one's speaker: "He added that ...", "..., she said."."""


def asks_what_was_said(question: str) -> tuple[list[str], list[str]] | None:
    """The speaker's word stems and the topic's ("about ...", "to ..."), when the question
    asks what someone said; None for any other question."""
    asked = _ASKS.match(question.strip())
    if asked is None or _NEGATION.search(asked["who"]):
        return None
    who = stems(asked["who"])
    return (who, stems(asked["about"] or "")) if who else None


def reported(question: str, ranking: Ranking) -> tuple[int, int, int] | None:
    """Where the best passages report what the question asks someone said: the hit's number
    in the ranking and the (start, end) of the sentences in its passage; None when the
    question asks something else or no sentence of them names the speaker with a reporting
    verb (and the topic, if one is asked)."""
    asked = asks_what_was_said(question)
    if asked is None:
        return None
    who, about = asked
    for number, hit in enumerate(ranking.hits[:SEARCHED]):
        text = hit.passage.text
        if not set(who) <= set(stems(text)):
            continue
        said = _speaker_sentences(text, who[-1])
        if said is not None and set(about) <= set(stems(text[said[0] : said[1]])):
            return number, *said
    return None


def _speaker_sentences(text: str, speaker: str) -> tuple[int, int] | None:
    """The first sentence that names the speaker beside a reporting verb, with the sentences
    right after it that go on reporting them ("He added ...")."""
    sentences = split_sentences(text)
    for i, (start, end) in enumerate(sentences):
        sentence = text[start:end]
        if speaker in stems(sentence) and _REPORTS.search(sentence):
            for later, finish in sentences[i + 1 :]:
                if not _GOES_ON.search(text[later:finish]):
                    break
                end = finish
            return start, end
    return None
