"""Follow-up questions on Telegram: one conversation per private chat and per reply chain in a
group, /new to start afresh, and two users in one group never sharing a conversation. The
reply to a follow-up asked alone (by a new user) is the reference for "not a follow-up"."""

from __future__ import annotations

from typing import Any

import pytest
from tests.auxil.fake_telegram import FakeTelegram

pytestmark = pytest.mark.usefixtures("bot")

FIRST = "Who is the Kremlin spokesperson?"
FOLLOW_UP = "What did he add?"
FOLLOWED = "paragraph 3"  # the source line of the Peskov paragraph


def said(fake: FakeTelegram, message: dict[str, Any]) -> str:
    return str(fake.replies_to(message)[0].result["text"])


def alone(fake: FakeTelegram, uid: int) -> str:
    """The reply to the follow-up from a user who asked nothing before it."""
    user = fake.user(uid + 700_000)
    return said(fake, fake.message(fake.private_chat(user), user, FOLLOW_UP))


def test_a_private_chat_is_one_conversation_until_new(fake: FakeTelegram, uid: int) -> None:
    user = fake.user(uid)
    chat = fake.private_chat(user)
    assert "Peskov" in said(fake, fake.message(chat, user, FIRST))
    followed = said(fake, fake.message(chat, user, FOLLOW_UP))
    assert FOLLOWED in followed and "added" in followed
    assert "New conversation" in said(fake, fake.message(chat, user, "/new"))
    assert said(fake, fake.message(chat, user, FOLLOW_UP)) == alone(fake, uid)


def test_a_group_reply_chain_is_a_conversation_of_its_own_user(
    fake: FakeTelegram, uid: int, group_id: int
) -> None:
    group = fake.group_chat(group_id)
    ann, bob = fake.user(uid, "Ann"), fake.user(uid + 500_000, "Bob")
    answer = fake.stored(fake.replies_to(fake.message(group, ann, f"/ask {FIRST}"))[0])
    # Bob replying to the answer Ann got starts his own conversation: nothing to lean on.
    assert said(fake, fake.message(group, bob, FOLLOW_UP, reply_to=answer)) == alone(fake, uid)
    # Ann replying to it goes on with hers.
    followed = said(fake, fake.message(group, ann, FOLLOW_UP, reply_to=answer))
    assert FOLLOWED in followed
    # A new /ask that is no reply starts afresh.
    assert said(fake, fake.message(group, ann, f"/ask {FOLLOW_UP}")) == alone(fake, uid)
