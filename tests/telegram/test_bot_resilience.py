"""Staying alive: flood control, refused markup, failures, chats that are not allowed."""

from __future__ import annotations

import logging
import time
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


def _fail_sends(
    fake: FakeTelegram, uid: int, faults: list[int], showing: str | None = None
) -> None:
    """Fail the next sends of replies to the chat (those that show ``showing``), one fault
    each; apologies are let through."""
    for status in faults:
        fake.fail_next(
            "sendMessage",
            status,
            "Internal Server Error" if status >= 500 else "",
            when=lambda p: (
                p.get("chat_id") == uid
                and "Sorry" not in p["text"]
                and (showing is None or showing in p["text"])
            ),
        )


@pytest.mark.parametrize(
    "faults",
    [
        [500, 500, 500],  # three 5xx running
        [RESET_BEFORE, RESET_BEFORE, RESET_BEFORE],  # three connection resets
        [502, RESET_BEFORE, 500],
    ],
)
def test_repeated_faults_are_retried_with_backoff_until_the_answer_arrives(
    fake: FakeTelegram,
    uid: int,
    bot: Application,  # type: ignore[type-arg]
    faults: list[int],
) -> None:
    _fail_sends(fake, uid, faults)
    user = fake.user(uid)
    asked_at = time.monotonic()
    question = fake.message(fake.private_chat(user), user, AGADEZ)
    [answer] = fake.replies_to(question, timeout=60)
    assert "500 miles" in answer.result["text"]
    assert answer.at - asked_at >= 1 + 2 + 4  # backed off: 1, 2, 4 s
    fake.quiet(seconds=3)
    assert not any("Sorry" in c.params["text"] for c in fake.sent(uid))


@pytest.mark.parametrize("pressed", [False, True], ids=["answer", "more-sources"])
def test_a_reply_that_cannot_be_sent_in_its_window_gets_one_apology(
    fake: FakeTelegram,
    uid: int,
    bot: Application,  # type: ignore[type-arg]
    monkeypatch: pytest.MonkeyPatch,
    pressed: bool,
) -> None:
    """Sends fail (5xx) for the whole retry window (shortened to 4 s here, 60 s in use):
    one apology, even though the apology's own answer is lost (it is not sent again)."""
    from quotebot.telegram import _replies

    monkeypatch.setattr(_replies, "RETRY_WINDOW", 4.0)
    user = fake.user(uid)
    chat = fake.private_chat(user)
    question = fake.message(chat, user, AGADEZ)
    if pressed:
        answer = fake.stored(fake.replies_to(question)[0])
    _fail_sends(fake, uid, [500] * 8, showing="More sources" if pressed else None)
    fake.fail_next(
        "sendMessage",
        LOST_AFTER,
        "",
        when=lambda p: p.get("chat_id") == uid and "Sorry" in p["text"],
    )
    if pressed:
        data = answer["reply_markup"]["inline_keyboard"][0][0]["callback_data"]
        fake.press(user, answer, data)
    sorry = fake.wait_for(
        "sendMessage", lambda c: c.ok and c.params["chat_id"] == uid and "Sorry" in c.params["text"]
    )
    fake.quiet(seconds=3)
    tries = [
        c for c in fake.calls_to("sendMessage") if c.params["chat_id"] == uid and c.status == 500
    ]
    assert len(tries) == 3  # at 0, 1 and 3 s; the next (at 7 s) would be past the window
    assert len([c for c in fake.sent(uid) if "Sorry" in c.params["text"]]) == 1
    assert replied_id(sorry[0]) in (question["message_id"], answer["message_id"] if pressed else 0)
    if not pressed:
        assert not [c for c in fake.sent(uid) if "500 miles" in c.params["text"]]


def test_a_user_who_blocked_the_bot_is_one_warning_and_no_apology(
    fake: FakeTelegram,
    uid: int,
    bot: Application,  # type: ignore[type-arg]
    caplog: pytest.LogCaptureFixture,
) -> None:
    fake.block(uid)
    user = fake.user(uid)
    with caplog.at_level(logging.INFO):
        fake.message(fake.private_chat(user), user, AGADEZ)
        fake.wait_for("sendMessage", lambda c: c.params["chat_id"] == uid and c.status == 403)
        fake.quiet(seconds=3)
    sends = [c for c in fake.calls_to("sendMessage") if c.params["chat_id"] == uid]
    assert len(sends) == 1  # the answer, refused; no apology tried
    warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 1, [r.getMessage() for r in warnings]
    assert "blocked" in warnings[0].getMessage() and warnings[0].exc_info is None
    assert "Traceback" not in caplog.text
