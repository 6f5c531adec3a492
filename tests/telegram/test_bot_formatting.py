"""How replies look: HTML that Telegram accepts, its plain-text twin, and splitting."""

from __future__ import annotations

from tests.auxil.fake_telegram import utf16_len, visible_text

from quotebot.records import Answer, Hit, Passage
from quotebot.telegram._formatting import MAX_MESSAGE, answer_blocks, pack, text_blocks

QUOTE = 'Agadez & "Niger" <sic> is some 500 miles from the capital.'


def hit(title: str = "Sahel <update> & more", url: str | None = "https://x.test/a?b=1&c=2") -> Hit:
    passage = Passage("a1", 1, f"Before. {QUOTE} After.", title, url, "2024-04-19")
    return Hit(passage, 0.9, 0)


def test_answer_in_bold_highlighted_in_the_quote_and_the_source_linked() -> None:
    start = QUOTE.index("500 miles")
    answer = Answer("how far?", True, "500 miles", QUOTE, start, [hit()], 0.9, True)
    [message] = pack(answer_blocks(answer))
    assert message.html.startswith("<b>500 miles</b>\n<blockquote>")
    assert "&lt;sic&gt; is some <b>500 miles</b> from" in message.html
    assert '<a href="https://x.test/a?b=1&amp;c=2">Sahel &lt;update&gt; &amp; more</a>' in (
        message.html
    )
    assert message.html.endswith(", paragraph 2 · 2024-04-19")
    shown = visible_text(message.html)  # what Telegram would show; raises on bad markup
    assert QUOTE in shown and "Sahel <update> & more, paragraph 2" in shown
    assert message.plain == (
        f"500 miles\n“{QUOTE}”\n— Sahel <update> & more (https://x.test/a?b=1&c=2), "
        "paragraph 2 · 2024-04-19"
    )


def test_a_sentence_answer_is_the_bold_quote_and_no_url_means_no_link() -> None:
    answer = Answer("how far?", True, QUOTE, QUOTE, 0, [hit(url=None)], 0.9, True)
    [message] = pack(answer_blocks(answer))
    assert message.html.startswith(f"<blockquote><b>{visible_text_escape(QUOTE)}</b></blockquote>")
    assert "<a " not in message.html


def test_an_unsure_short_answer_is_not_shown_and_the_quote_leads() -> None:
    start = QUOTE.index("500 miles")
    answer = Answer("how far?", True, "500 miles", QUOTE, start, [hit()], 0.2, False)
    [message] = pack(answer_blocks(answer))
    assert message.html.startswith("<blockquote>") and "<b>" not in message.html
    assert message.plain.startswith(f"“{QUOTE}”")


def test_not_found_says_so_plainly() -> None:
    [message] = pack(answer_blocks(Answer("who?", False, passages=[hit()])))
    assert message.html == message.plain == "I couldn't find that in my articles."


def test_long_replies_are_split_into_valid_messages() -> None:
    words = " ".join(f"<w{n}> & more" for n in range(1500))
    endless = "x" * 9000  # one "word" longer than a message
    messages = pack(text_blocks("Intro.", words, endless, "Outro."))
    assert len(messages) >= 4
    for message in messages:
        assert utf16_len(message.html) <= MAX_MESSAGE and utf16_len(message.plain) <= MAX_MESSAGE
        visible_text(message.html)
    shown = "".join(visible_text(m.html) for m in messages)
    assert shown.replace("\n", "").replace(" ", "") == (
        "Intro." + words + endless + "Outro."
    ).replace(" ", "")


def test_emoji_count_as_two_units() -> None:
    messages = pack(text_blocks("🙂" * 3000))
    assert len(messages) == 2 and all(utf16_len(m.html) <= MAX_MESSAGE for m in messages)


def visible_text_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
