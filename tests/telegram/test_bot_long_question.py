"""A message far longer than a question gets one short reply saying so; the chat goes on."""

from __future__ import annotations

import pytest
from tests.auxil.fake_telegram import FakeTelegram

pytestmark = pytest.mark.usefixtures("bot")


def test_a_pasted_article_is_told_it_is_too_long_and_the_next_question_answered(
    fake: FakeTelegram, uid: int
) -> None:
    user = fake.user(uid)
    chat = fake.private_chat(user)
    pasted = fake.message(chat, user, "Why does the base matter? " * 150)  # 3,900 characters
    said = fake.replies_to(pasted)[0].result["text"]
    assert said.startswith("The question is too long") and len(said) < 200
    asked = fake.message(chat, user, "How far is Agadez from Niamey?")
    assert "500 miles" in fake.replies_to(asked)[0].result["text"]
