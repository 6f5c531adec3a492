"""Staying alive: flood control, refused markup, failures, chats that are not allowed."""

from __future__ import annotations

from pathlib import Path

import pytest
from telegram.ext import Application
from tests.auxil.bot_runner import running_bot, settings_for
from tests.auxil.fake_telegram import LOST_AFTER, RESET_BEFORE, FakeTelegram, replied_id

AGADEZ = "How far is Agadez from Niamey?"


def test_429_retry_after_is_honoured(
    fake: FakeTelegram,
    uid: int,
    bot: Application,  # type: ignore[type-arg]
) -> None:
    fake.fail_next(
        "sendMessage",
        429,
        "Too Many Requests: retry after 1",
        retry_after=1,
        when=lambda params: params.get("chat_id") == uid,
    )
    user = fake.user(uid)
    question = fake.message(fake.private_chat(user), user, AGADEZ)
    answer = fake.replies_to(question)[0]
    attempts = [c for c in fake.calls_to("sendMessage") if c.params.get("chat_id") == uid]
    assert [c.status for c in attempts] == [429, 200]
    assert attempts[0].params["text"] == attempts[1].params["text"]
    assert attempts[1].at - attempts[0].at >= 1  # it waited as told
    assert "500 miles" in answer.result["text"]


def test_refused_markup_is_resent_as_plain_text(
    fake: FakeTelegram,
    uid: int,
    bot: Application,  # type: ignore[type-arg]
) -> None:
    fake.fail_next(
        "sendMessage",
        400,
        'Bad Request: can\'t parse entities: Unsupported start tag "blockquote" at byte offset 0',
        when=lambda params: params.get("chat_id") == uid,
    )
    user = fake.user(uid)
    question = fake.message(fake.private_chat(user), user, AGADEZ)
    answer = fake.replies_to(question)[0]
    assert "parse_mode" not in answer.params
    assert "<" not in answer.params["text"] and "500 miles" in answer.params["text"]
    assert (
        "— Russian forces positioning to take over U.S. Military base, paragraph 2"
        in (answer.params["text"])
    )


def test_a_failure_is_logged_and_the_bot_keeps_serving(
    fake: FakeTelegram,
    uid: int,
    bot: Application,  # type: ignore[type-arg]
    caplog: pytest.LogCaptureFixture,
) -> None:
    fake.fail_next(
        "sendMessage",
        400,
        "Bad Request: message thread not found",
        when=lambda params: params.get("chat_id") == uid,
    )
    user = fake.user(uid)
    chat = fake.private_chat(user)
    first = fake.message(chat, user, AGADEZ)
    sorry = fake.replies_to(first)[-1]
    assert "something went wrong" in sorry.result["text"]
    assert "failed while handling update" in caplog.text
    second = fake.message(chat, user, AGADEZ)
    assert "500 miles" in fake.replies_to(second)[0].result["text"]


def test_a_strange_update_does_not_stop_the_bot(
    fake: FakeTelegram,
    uid: int,
    bot: Application,  # type: ignore[type-arg]
) -> None:
    user = fake.user(uid)
    chat = fake.private_chat(user)
    fake.push({"some_future_update_kind": {"id": 1}})
    fake.message(chat, user, None, sticker={"file_id": "s1", "file_unique_id": "s1"})
    fake.push({"edited_message": {**fake.message(chat, user, "typo"), "text": "edited"}})
    question = fake.message(chat, user, AGADEZ)
    assert "500 miles" in fake.replies_to(question)[0].result["text"]


def test_only_allowed_chats_are_answered(uid: int, bot_index: Path) -> None:
    allowed = uid + 800_000
    with FakeTelegram() as fake:
        settings = settings_for(fake, bot_index, ALLOWED_CHAT_IDS=f"{allowed}, -100")
        with running_bot(settings, fake):
            outsider, insider = fake.user(uid), fake.user(allowed)
            ignored = fake.message(fake.private_chat(outsider), outsider, AGADEZ)
            answered = fake.message(fake.private_chat(insider), insider, AGADEZ)
            assert "500 miles" in fake.replies_to(answered)[0].result["text"]
            assert not [c for c in fake.sent() if replied_id(c) == ignored["message_id"]]
            assert not [c for c in fake.calls_to("sendChatAction") if c.params["chat_id"] == uid]


def test_a_failed_poll_does_not_stop_the_bot(
    fake: FakeTelegram,
    uid: int,
    bot: Application,  # type: ignore[type-arg]
) -> None:
    fake.fail_next("getUpdates", 502, "Bad Gateway")
    fake.fail_next("getUpdates", 500, "Internal Server Error")
    fake.wait_for("getUpdates", lambda c: c.status == 500)  # both polls failed
    user = fake.user(uid)
    question = fake.message(fake.private_chat(user), user, AGADEZ)
    assert "500 miles" in fake.replies_to(question)[0].result["text"]


@pytest.mark.parametrize(
    ("fault", "times"),
    [
        ((500, "Internal Server Error"), 1),  # a 5xx before delivery
        ((RESET_BEFORE, ""), 1),  # the connection reset before delivery
        ((429, "Too Many Requests: retry after 1"), 5),  # flood control, five times running
        ((LOST_AFTER, ""), 1),  # delivered, but the answer to the bot was lost
    ],
)
def test_a_transient_fault_delivers_the_answer_and_no_apology(
    fake: FakeTelegram,
    uid: int,
    bot: Application,  # type: ignore[type-arg]
    fault: tuple[int, str],
    times: int,
) -> None:
    status, description = fault
    for _ in range(times):
        fake.fail_next(
            "sendMessage",
            status,
            description,
            retry_after=1 if status == 429 else None,
            when=lambda params: params.get("chat_id") == uid,
        )
    user = fake.user(uid)
    question = fake.message(fake.private_chat(user), user, AGADEZ)
    answers = fake.replies_to(question)
    assert "500 miles" in answers[0].result["text"]
    fake.quiet(seconds=3)  # let anything still coming arrive
    replies = [c for c in fake.sent(uid) if replied_id(c) == question["message_id"]]
    assert 1 <= len(replies) <= 2  # at most one extra copy, and only when one was lost
    assert not any("something went wrong" in c.result["text"] for c in replies)
