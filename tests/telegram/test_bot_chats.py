"""Who gets answered, and how: private chats, groups, mentions, replies, commands."""

from __future__ import annotations

from typing import Any

import pytest
from telegram.ext import Application
from tests.auxil.fake_telegram import BOT, Call, FakeTelegram, replied_id

TITLE = "Russian forces positioning to take over U.S. Military base"
AGADEZ = "How far is Agadez from Niamey?"
pytestmark = pytest.mark.usefixtures("bot")


def ask_privately(fake: FakeTelegram, uid: int, text: str) -> tuple[dict[str, Any], Call]:
    user = fake.user(uid)
    question = fake.message(fake.private_chat(user), user, text)
    return question, fake.replies_to(question)[0]


def test_private_question_is_answered_with_quote_and_source(fake: FakeTelegram, uid: int) -> None:
    question, answer = ask_privately(fake, uid, AGADEZ)
    html = answer.params["text"]
    assert answer.params["parse_mode"] == "HTML"
    assert "<blockquote>" in html and "500 miles" in html
    assert f"{TITLE}, paragraph 2" in answer.result["text"]
    _, sure = ask_privately(fake, uid, "Who is the Kremlin spokesperson?")
    assert sure.params["text"].startswith("<b>Dmitry Peskov</b>\n<blockquote>")
    # "typing…" came first, before the reply
    typing = fake.wait_for("sendChatAction", lambda c: c.params["chat_id"] == uid)[0]
    assert typing.params["action"] == "typing" and typing.at <= answer.at


def test_commands_are_registered_at_start(fake: FakeTelegram) -> None:
    assert [c["command"] for c in fake.commands] == ["start", "help", "ask", "sources", "new"]


def test_off_corpus_question_says_so_plainly(fake: FakeTelegram, uid: int) -> None:
    _, answer = ask_privately(fake, uid, "Who wrote Pride and Prejudice?")
    assert answer.result["text"] == "I couldn't find that in my articles."
    assert "reply_markup" not in answer.params


def test_html_in_the_question_is_escaped(fake: FakeTelegram, uid: int) -> None:
    _, answer = ask_privately(fake, uid, "How far is Agadez from Niamey? <i>why</i> & <b>")
    assert answer.ok and answer.params["parse_mode"] == "HTML"
    assert "<i>" not in answer.params["text"]  # nothing of the question is sent unescaped


def test_group_ask_with_this_bots_name(fake: FakeTelegram, uid: int, group_id: int) -> None:
    user, chat = fake.user(uid), fake.group_chat(group_id)
    question = fake.message(chat, user, f"/ask@{BOT['username']} {AGADEZ}")
    answer = fake.replies_to(question)[0]
    assert answer.params["chat_id"] == group_id and "500 miles" in answer.result["text"]


def test_group_plain_ask_and_ask_alone(fake: FakeTelegram, uid: int, group_id: int) -> None:
    user, chat = fake.user(uid), fake.group_chat(group_id)
    question = fake.message(chat, user, "/ask Who is the Kremlin spokesperson?")
    assert "Peskov" in fake.replies_to(question)[0].result["text"]
    alone = fake.message(chat, user, "/ask")
    hint = fake.replies_to(alone)[0].result["text"]
    assert f"/ask@{BOT['username']}" in hint


def test_group_mention_is_a_question(fake: FakeTelegram, uid: int, group_id: int) -> None:
    user, chat = fake.user(uid), fake.group_chat(group_id)
    question = fake.message(chat, user, f"hey @{BOT['username'].upper()}, {AGADEZ.lower()}")
    assert "500 miles" in fake.replies_to(question)[0].result["text"]


def test_group_reply_to_the_bot_is_a_follow_up(fake: FakeTelegram, uid: int, group_id: int) -> None:
    user, chat = fake.user(uid), fake.group_chat(group_id)
    first = fake.message(chat, user, f"/ask {AGADEZ}")
    bots_answer = fake.stored(fake.replies_to(first)[0])
    follow_up = fake.message(chat, user, "Who is the Kremlin spokesperson?", reply_to=bots_answer)
    assert "Peskov" in fake.replies_to(follow_up)[0].result["text"]


def test_group_chatter_and_other_bots_commands_are_ignored(
    fake: FakeTelegram, uid: int, group_id: int
) -> None:
    user, chat = fake.user(uid), fake.group_chat(group_id)
    someone = fake.user(uid + 500_000, "Bob")
    chatter = fake.message(chat, someone, "How far is Agadez from Niamey? anyone?")
    fake.message(chat, user, f"/ask@other_bot {AGADEZ}")
    fake.message(chat, user, "I asked @other_bot about it", reply_to=chatter)
    fake.message(chat, user, "an email like me@quote_test_bot.com is not a mention")
    # a question afterwards is answered; nothing before it was
    sentinel = fake.message(chat, user, f"/ask@{BOT['username']} {AGADEZ}")
    fake.replies_to(sentinel)
    to_group = [c for c in fake.calls if c.params.get("chat_id") == group_id]
    assert {replied_id(c) for c in fake.sent(group_id)} == {sentinel["message_id"]}
    assert all(
        c.method == "sendChatAction" or replied_id(c) == sentinel["message_id"] for c in to_group
    )


def test_help_and_sources(fake: FakeTelegram, uid: int) -> None:
    user = fake.user(uid)
    chat = fake.private_chat(user)
    help_text = fake.replies_to(fake.message(chat, user, "/help"))[0].result["text"]
    assert "/ask" in help_text and "group" in help_text
    sources = fake.replies_to(fake.message(chat, user, "/sources"))[0]
    assert TITLE in sources.result["text"] and "7 paragraphs" in sources.result["text"]


def test_too_many_questions_get_one_friendly_note(
    fake: FakeTelegram,
    uid: int,
    bot: Application,  # type: ignore[type-arg]
) -> None:
    QUESTIONS_PER_MINUTE = bot.bot_data.memory.limiter.per_minute
    user = fake.user(uid)
    chat = fake.private_chat(user)
    questions = [fake.message(chat, user, AGADEZ) for _ in range(QUESTIONS_PER_MINUTE + 2)]
    answers = [fake.replies_to(q)[0] for q in questions[: QUESTIONS_PER_MINUTE + 1]]
    assert all("500 miles" in a.result["text"] for a in answers[:QUESTIONS_PER_MINUTE])
    assert "questions a minute" in answers[-1].result["text"]
    # the next one in the same minute is dropped quietly (no second note)
    sentinel = fake.message(
        fake.private_chat(fake.user(uid + 700_000)), fake.user(uid + 700_000), AGADEZ
    )
    fake.replies_to(sentinel)
    assert not [c for c in fake.sent(uid) if replied_id(c) == questions[-1]["message_id"]]


def test_ask_without_entities_is_still_a_command(
    fake: FakeTelegram, uid: int, group_id: int
) -> None:
    user, chat = fake.user(uid), fake.group_chat(group_id)
    mine = fake.message(chat, user, f"/ask@{BOT['username']} {AGADEZ}", entities=[])
    theirs = fake.message(chat, user, f"/ask@other_bot {AGADEZ}", entities=[])
    assert "500 miles" in fake.replies_to(mine)[0].result["text"]
    sentinel = fake.message(chat, user, f"/ask {AGADEZ}")
    fake.replies_to(sentinel)
    assert not [c for c in fake.sent(group_id) if replied_id(c) == theirs["message_id"]]


def test_basic_groups_and_forum_topics(fake: FakeTelegram, uid: int, group_id: int) -> None:
    user = fake.user(uid)
    basic = {"id": group_id // 1_000_000, "type": "group", "title": "Old group"}
    question = fake.message(basic, user, f"@{BOT['username']} {AGADEZ}")
    assert "500 miles" in fake.replies_to(question)[0].result["text"]
    forum = {**fake.group_chat(group_id), "is_forum": True}
    topic = {"message_thread_id": 77, "is_topic_message": True}
    question = fake.message(forum, user, f"/ask {AGADEZ}", **topic)
    answer = fake.replies_to(question)[0]
    assert answer.params["message_thread_id"] == 77
    typing = fake.wait_for("sendChatAction", lambda c: c.params["chat_id"] == group_id)[0]
    assert typing.params["message_thread_id"] == 77
