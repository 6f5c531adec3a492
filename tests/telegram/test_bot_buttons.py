"""The "More sources" button: next passages, every press answered, and after a restart."""

from __future__ import annotations

import shutil
import time
from pathlib import Path
from typing import Any

import pytest
from telegram.ext import Application
from tests.auxil.bot_runner import running_bot, settings_for
from tests.auxil.fake_telegram import Call, FakeTelegram, replied_id
from tests.conftest import ARTICLES

from quotebot import indexing
from quotebot.storage import postgres

AGADEZ = "How far is Agadez from Niamey?"


def ask(
    fake: FakeTelegram, uid: int, text: str = AGADEZ
) -> tuple[dict[str, Any], dict[str, Any], Call]:
    user = fake.user(uid)
    question = fake.message(fake.private_chat(user), user, text)
    answer = fake.replies_to(question)[0]
    return user, fake.stored(answer), answer


def button_data(call: Call) -> str:
    return str(call.params["reply_markup"]["inline_keyboard"][0][0]["callback_data"])


def press_and_wait(fake: FakeTelegram, user: dict[str, Any], message: dict[str, Any]) -> Call:
    """Press the message's button; return the answerCallbackQuery call."""
    data = message["reply_markup"]["inline_keyboard"][0][0]["callback_data"]
    query_id = fake.press(user, message, data)
    return fake.wait_for(
        "answerCallbackQuery", lambda c: c.params["callback_query_id"] == query_id
    )[0]


def sources_in(fake: FakeTelegram, chat_id: int) -> Call:
    """Wait for the "More sources" message in the chat."""
    return fake.wait_for(
        "sendMessage",
        lambda c: c.ok and c.params["chat_id"] == chat_id and "More sources" in c.result["text"],
    )[0]


def test_more_sources_lists_the_next_passages(
    fake: FakeTelegram,
    uid: int,
    bot: Application,  # type: ignore[type-arg]
) -> None:
    user, answer, call = ask(fake, uid, "Why are Russian <forces> in Niger? & how")
    assert call.params["reply_markup"]["inline_keyboard"][0][0]["text"] == "More sources"
    assert len(button_data(call).encode()) <= 64
    pressed = press_and_wait(fake, user, answer)
    assert "text" not in pressed.params or "expired" not in pressed.params["text"]
    sources = sources_in(fake, uid)
    shown = sources.result["text"]
    assert "More sources for: Why are Russian <forces> in Niger? & how" in shown
    assert "2. " in shown and "paragraph" in shown and "5. " in shown
    assert replied_id(sources) == replied_id(call)  # it answers the same question
    fake.wait_for(
        "editMessageReplyMarkup", lambda c: c.params["message_id"] == answer["message_id"]
    )
    assert "reply_markup" not in fake.stored(call)  # the pressed button is gone
    assert "Russian forces positioning to take over U.S. Military base" in shown
    # the next page, from the button under the sources
    press_and_wait(fake, user, fake.stored(sources))
    page_two = fake.wait_for(
        "sendMessage",
        lambda c: c.ok and c.params["chat_id"] == uid and "\n6. " in c.result["text"],
    )[0]
    assert replied_id(page_two) == replied_id(call)


def test_the_button_still_works_after_a_restart(uid: int, bot_index: Path) -> None:
    with FakeTelegram() as fake:  # its own server: no other bot polls it
        with running_bot(settings_for(fake, bot_index), fake):
            user, answer, _ = ask(fake, uid)
        with running_bot(settings_for(fake, bot_index), fake):
            press_and_wait(fake, user, answer)
            assert "paragraph" in sources_in(fake, uid).result["text"]


def test_an_unknown_or_orphaned_button_is_answered_as_expired(
    fake: FakeTelegram,
    uid: int,
    bot: Application,  # type: ignore[type-arg]
) -> None:
    user = fake.user(uid)
    lonely = {
        "message_id": 1,
        "date": int(time.time()),
        "chat": fake.private_chat(user),
        "from": fake.bot,
        "text": "an answer whose question is gone",
    }
    too_old = {**lonely, "date": 0}  # how Telegram sends a message the bot can no longer see
    for message, data in [(lonely, "more:1"), (too_old, "more:1"), (lonely, "something-else")]:
        query_id = fake.press(user, message, data)
        pressed = fake.wait_for(
            "answerCallbackQuery", lambda c, q=query_id: c.params["callback_query_id"] == q
        )[0]
        assert "expired" in pressed.params["text"]


def test_a_press_that_fails_is_answered_once_and_apologised_for_in_the_chat(
    fake: FakeTelegram,
    uid: int,
    bot: Application,  # type: ignore[type-arg]
) -> None:
    user, answer, _ = ask(fake, uid)
    for _ in range(2):  # the sources refused as HTML, then as plain text
        fake.fail_next(
            "sendMessage",
            400,
            "Bad Request: can't parse entities",
            when=lambda p: p["chat_id"] == uid and "More sources" in p["text"],
        )
    pressed = press_and_wait(fake, user, answer)
    fake.wait_for(
        "sendMessage", lambda c: c.ok and c.params["chat_id"] == uid and "Sorry" in c.params["text"]
    )
    fake.quiet(2)
    presses = [
        c
        for c in fake.calls_to("answerCallbackQuery")
        if c.params["callback_query_id"] == pressed.params["callback_query_id"]
    ]
    assert len(presses) == 1


def test_a_press_while_the_database_is_down_says_the_articles_are_unavailable(
    tmp_path: Path,
) -> None:
    """The question behind a button is kept in the database (the asker deleted theirs, so
    Telegram no longer nests it): while the database is down the press says the articles
    are not available right now, not that the button has expired."""
    pgserver = pytest.importorskip("pgserver")
    folder = tmp_path / "pg"
    server = pgserver.get_server(folder, cleanup_mode="stop")
    try:
        url = server.get_uri()
        indexing.build(postgres.Database(url), [ARTICLES])
        with FakeTelegram() as fake:
            settings = settings_for(fake, tmp_path / "unused", QUOTEBOT_DATABASE_URL=url)
            with running_bot(settings, fake):
                user = fake.user(4343)
                question = fake.message(fake.private_chat(user), user, AGADEZ)
                answer = fake.stored(fake.replies_to(question)[0])
                fake.delete(question)
                press_and_wait(fake, user, answer)
                assert "paragraph" in sources_in(fake, user["id"]).result["text"]  # from memory
                server.cleanup()  # the database goes away
                pressed = fake.press(user, answer, "more:1")
                [told] = fake.wait_for(
                    "answerCallbackQuery", lambda c: c.params["callback_query_id"] == pressed
                )
                assert "not available right now" in told.params["text"]
                assert "expired" not in told.params["text"]
    finally:
        server.cleanup()


BERLIN = """Berlin Marathon sets a course record

The Berlin Marathon course runs 42 kilometres from the Tiergarten past the Reichstag, and how far
the leaders got by halfway surprised the crowd.

Runners from the capital and from abroad filled the start area some two miles from the finish.

The winner covered the distance in just over two hours, a record for the flat city course.
"""


def test_more_sources_lists_only_passages_that_bear_on_the_question(
    sample_index: Path, tmp_path: Path
) -> None:
    """An Agadez question pages on to the paragraphs that name Agadez or Niamey, never to
    a marathon's distances; an answer that no other passage bears on has no button, and an
    old button for it says so."""
    index = tmp_path / "index"
    shutil.copytree(sample_index, index)
    (tmp_path / "berlin-marathon.txt").write_text(BERLIN)
    indexing.add(index, [tmp_path / "berlin-marathon.txt"])
    with FakeTelegram() as fake, running_bot(settings_for(fake, index), fake):
        user, answer, call = ask(fake, 5151)
        assert "500 miles" in call.result["text"]
        press_and_wait(fake, user, answer)
        shown = sources_in(fake, 5151)
        text = shown.result["text"]
        assert "Berlin" not in text and "Marathon" not in text
        assert "paragraph 1" in text and "paragraph 7" in text
        assert "reply_markup" not in shown.params  # nothing more bears on it
        user, lone, call = ask(fake, 5152, "Who is the Kremlin spokesperson?")
        assert "Peskov" in call.result["text"] and "reply_markup" not in call.params
        fake.press(user, lone, "more:1")  # a button from before: it says why nothing follows
        told = fake.wait_for(
            "sendMessage",
            lambda c: c.ok and c.params["chat_id"] == 5152 and "bears" in c.params["text"],
        )[0]
        assert told.result["text"] == "No other passage in my articles bears on this question."
