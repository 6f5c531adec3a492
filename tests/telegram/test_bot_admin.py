"""Admins add and remove articles from the chat; everyone else is told politely."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from telegram.ext import Application
from tests.auxil.bot_runner import running_bot, settings_for
from tests.auxil.fake_telegram import FakeTelegram
from tests.auxil.website import article_html, serve
from tests.telegram.conftest import ADMIN

from quotebot import storage

pytestmark = pytest.mark.usefixtures("bot")

FERRY = """Harbour timetable changes for the winter

The ferry to Oban now leaves Craignure at seven minutes past noon, the harbour master said.

Winter storms closed the pier at Tobermory for three days in January.
"""


def admin_chat(fake: FakeTelegram) -> tuple[dict[str, Any], dict[str, Any]]:
    user = fake.user(ADMIN, "Ada")
    return fake.private_chat(user), user


def article_ids(index_dir: Path) -> list[str]:
    return [article.id for article in storage.open_index(index_dir).articles()]


def test_admin_upload_is_indexed_and_answers_the_next_question(
    fake: FakeTelegram, bot_index: Path
) -> None:
    chat, admin = admin_chat(fake)
    upload = fake.document(chat, admin, "winter-ferries.txt", FERRY.encode())
    report = fake.replies_to(upload)[0].result["text"]
    assert "Harbour timetable changes for the winter" in report
    assert "2 paragraphs" in report and "winter-ferries" in report
    assert "winter-ferries" in article_ids(bot_index)
    question = fake.message(chat, admin, "When does the ferry to Oban leave Craignure?")
    answer = fake.replies_to(question)[0].result["text"]
    assert "seven minutes past noon" in answer and "paragraph 1" in answer


def test_admin_json_upload_names_every_article(fake: FakeTelegram, bot_index: Path) -> None:
    chat, admin = admin_chat(fake)
    records = [
        {"id": "orchard-1", "title": "Cider orchards <bloom> early", "text": "Apples & pears."},
        {"id": "orchard-2", "title": "Bees return", "paragraphs": ["Hives doubled.", "Honey."]},
    ]
    upload = fake.document(
        chat, admin, "orchards.jsonl", "\n".join(map(json.dumps, records)).encode()
    )
    reply = fake.replies_to(upload)[0]
    assert reply.params["parse_mode"] == "HTML" and "&lt;bloom&gt;" in reply.params["text"]
    assert "Cider orchards <bloom> early" in reply.result["text"]
    assert "1 paragraph," in reply.result["text"] and "2 paragraphs" in reply.result["text"]
    assert {"orchard-1", "orchard-2"} <= set(article_ids(bot_index))


def test_non_admin_upload_is_declined_and_not_indexed(
    fake: FakeTelegram, uid: int, bot_index: Path
) -> None:
    user = fake.user(uid)
    before = article_ids(bot_index)
    upload = fake.document(fake.private_chat(user), user, "mine.txt", FERRY.encode())
    reply = fake.replies_to(upload)[0].result["text"]
    assert "Only the bot's admins can add articles" in reply
    assert article_ids(bot_index) == before
    file_id = upload["document"]["file_id"]
    assert not [c for c in fake.calls_to("getFile") if c.params["file_id"] == file_id]


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("empty.txt", b"   \n", "the file is empty"),
        ("photo.txt", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" * 20, "binary"),
        ("broken.json", b"{not json", "malformed JSON"),
        ("slides.pdf", b"%PDF-1.4 ...", "unsupported file type"),
    ],
)
def test_unreadable_upload_gets_a_clear_reply_and_changes_nothing(
    fake: FakeTelegram, bot_index: Path, name: str, content: bytes, reason: str
) -> None:
    chat, admin = admin_chat(fake)
    version = storage.current_version(bot_index)
    upload = fake.document(chat, admin, name, content)
    reply = fake.replies_to(upload)[0].result["text"]
    assert reply.startswith("Nothing was indexed") and name in reply and reason in reply
    assert "/tmp" not in reply and storage.current_version(bot_index) == version


def test_nameless_and_very_long_named_uploads_are_each_kept(
    fake: FakeTelegram, bot_index: Path
) -> None:
    chat, admin = admin_chat(fake)
    long_name = "ferries-" + "é" * 150 + "-winter.txt"  # 300+ bytes: longer than a file name may be
    uploads = [
        (None, "Gulls return to the pier\n\nThe gulls came back in March."),
        (None, "Seals seen off Oban\n\nA pod of seals was seen at dawn."),
        (long_name, "Winter timetable\n\nThe last ferry leaves at six."),
    ]
    before = set(article_ids(bot_index))
    for name, text in uploads:
        reply = fake.replies_to(fake.document(chat, admin, name, text.encode()))[0]
        assert reply.result["text"].startswith("Added"), reply.result["text"]
    added = set(article_ids(bot_index)) - before
    assert len(added) == 3  # neither nameless upload replaced the other
    assert any(i.startswith("ferries-é") for i in added)
    titles = {a.title for a in storage.open_index(bot_index).articles()}
    assert {"Gulls return to the pier", "Seals seen off Oban", "Winter timetable"} <= titles


def test_remove_by_id_for_admins_only(fake: FakeTelegram, uid: int, bot_index: Path) -> None:
    chat, admin = admin_chat(fake)
    upload = fake.document(chat, admin, "to-remove.txt", b"Short-lived\n\nA note on gulls.\n")
    fake.replies_to(upload)
    user = fake.user(uid)
    refused = fake.message(fake.private_chat(user), user, "/remove to-remove")
    assert "Only the bot's admins" in fake.replies_to(refused)[0].result["text"]
    assert "to-remove" in article_ids(bot_index)
    removed = fake.message(chat, admin, "/remove to-remove")
    assert "Removed to-remove" in fake.replies_to(removed)[0].result["text"]
    assert "to-remove" not in article_ids(bot_index)
    missing = fake.message(chat, admin, "/remove no-such-article")
    assert "no such article" in fake.replies_to(missing)[0].result["text"]


def test_a_giant_paragraph_is_quoted_by_the_piece_that_answers(fake: FakeTelegram) -> None:
    """A 6,000-character paragraph is indexed as passages of bounded length: the reply
    quotes the piece that holds the answer, and fits in one message."""
    chat, admin = admin_chat(fake)
    clauses = ", ".join(
        f"pier {n} of the Caledonian canal holds {n * 3} barges" for n in range(140)
    )
    text = f"Canal barge census\n\nThe census found that {clauses}, and the lock keeper smiled.\n"
    assert len(text) > 6000
    fake.replies_to(fake.document(chat, admin, "barges.txt", text.encode()))
    question = fake.message(
        chat, admin, "How many barges does pier 139 of the Caledonian canal hold?"
    )
    [reply] = fake.replies_to(question)
    assert len(reply.result["text"]) <= 4096
    assert "pier 139 of the Caledonian canal holds 417 barges" in reply.result["text"]


@pytest.fixture
def article_site() -> Iterator[str]:
    """A local web site with one news article page."""
    with serve() as site:
        yield site.page(
            "/news/lighthouse",
            article_html(
                "Lighthouse keepers return",
                "The Ardnamurchan lighthouse will be staffed again from March, the trust said "
                "on Monday, after twenty years of automatic running.",
                "Two keepers were hired from the village and start work in the spring.",
            ),
        )


def test_add_url_for_admins(
    fake: FakeTelegram,
    uid: int,
    article_site: str,
    monkeypatch: pytest.MonkeyPatch,
    bot: Application,  # type: ignore[type-arg]
) -> None:
    chat, admin = admin_chat(fake)
    refused = fake.message(chat, admin, f"/add {article_site}")
    reply = fake.replies_to(refused)[0].result["text"]
    assert reply.startswith("Nothing was indexed") and article_site in reply
    # As a bot started with QUOTEBOT_ALLOW_PRIVATE_URLS=true (the test site is on loopback);
    # the settings are read once, when the bot starts, and passed down as options.
    options = bot.bot_data.options
    sources = replace(options.index.sources, allow_private_urls=True)
    loopback = replace(options, index=replace(options.index, sources=sources))
    monkeypatch.setattr(bot.bot_data, "options", loopback)
    command = fake.message(chat, admin, f"/add {article_site}")
    reply = fake.replies_to(command)[0].result["text"]
    assert reply.startswith("Added: Lighthouse keepers return")
    question = fake.message(chat, admin, "When will the Ardnamurchan lighthouse be staffed again?")
    assert "from March" in fake.replies_to(question)[0].result["text"]
    user = fake.user(uid)
    other = fake.message(fake.private_chat(user), user, f"/add {article_site}")
    assert "Only the bot's admins" in fake.replies_to(other)[0].result["text"]


def test_admin_markdown_upload(fake: FakeTelegram, bot_index: Path) -> None:
    chat, admin = admin_chat(fake)
    text = "# Tide tables published\n\nThe *spring* tides peak on 12 March at Leith.\n"
    reply = fake.replies_to(fake.document(chat, admin, "tides.md", text.encode()))[0]
    assert "Added: Tide tables published — 1 paragraph" in reply.result["text"]
    assert "tides" in article_ids(bot_index)


def test_a_long_indexing_job_does_not_stall_other_chats(fake: FakeTelegram, uid: int) -> None:
    chat, admin = admin_chat(fake)
    paragraphs = "\n\n".join(
        f"Ledger entry {n}: the {n}th cargo of slate left Easdale quay for port {n % 37}."
        for n in range(500)
    )
    upload = fake.document(
        chat, admin, "slate-ledger.txt", f"Slate ledger\n\n{paragraphs}".encode()
    )
    fake.wait_for("getFile", lambda c: c.params["file_id"] == upload["document"]["file_id"])
    user = fake.user(uid)
    question = fake.message(fake.private_chat(user), user, "How far is Agadez from Niamey?")
    answered = fake.replies_to(question)[0]
    indexed = fake.replies_to(upload, timeout=300)[0]
    assert "500 paragraphs" in indexed.result["text"]
    assert answered.at < indexed.at  # the question did not wait for the indexing


@pytest.mark.parametrize(
    "source",
    [
        "{secret}",
        "{folder}",
        "/nonexistent/notes.txt",
        "file://{secret}",
        "ftp://example.com/a.txt",
    ],
)
def test_add_from_a_chat_never_reads_a_file_of_this_machine(
    fake: FakeTelegram, bot_index: Path, tmp_path: Path, source: str
) -> None:
    """/add PATH from an admin: refused in one line that says what /add takes, whether the
    path exists or not (so nothing can be probed), and nothing is indexed."""
    secret = tmp_path / "notes" / "passwords.txt"
    secret.parent.mkdir()
    secret.write_text("Passwords\n\nThe root password is hunter2-correct-horse.\n")
    before = article_ids(bot_index)
    chat, admin = admin_chat(fake)
    asked = source.format(secret=secret, folder=secret.parent)
    reply = fake.replies_to(fake.message(chat, admin, f"/add {asked}"))[0].result["text"]
    assert reply.startswith("Nothing was indexed: /add takes http:// or https:// addresses")
    assert "no such file" not in reply and "hunter2" not in reply
    assert article_ids(bot_index) == before  # nothing of the file can be quoted


def test_why_says_how_an_answer_was_found_to_admins_only(
    fake: FakeTelegram, uid: int, group_id: int
) -> None:
    group = fake.group_chat(group_id)
    admin, user = fake.user(ADMIN, "Ada"), fake.user(uid)
    asked = fake.message(group, user, "/ask What is the population of Timbuktu?")
    [declined] = fake.replies_to(asked)
    answer = fake.stored(declined)
    refused = fake.message(group, user, "/why", reply_to=answer)
    assert "Only the bot's admins" in fake.replies_to(refused)[0].result["text"]
    why = fake.message(group, admin, "/why", reply_to=answer)
    text = fake.replies_to(why)[0].result["text"]
    assert "What is the population of Timbuktu?" in text
    assert "reranked:" in text and "decision: " in text and "declined" in text
    assert "no passage holds:" in text and "Timbuktu" in text
    lost = fake.message(group, admin, "/why")
    assert "Reply /why to one of my answers" in fake.replies_to(lost)[0].result["text"]


def test_help_lists_every_upload_format_and_a_page_over_the_cap_says_so(
    sample_index: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """/help names what uploads really take (.html too); a page longer than the passage cap
    is added with the CLI's note that only its first passages were indexed (the note on an
    article added before is not said again)."""
    index = tmp_path / "index"
    shutil.copytree(sample_index, index)
    monkeypatch.setenv("QUOTEBOT_MAX_PASSAGES", "20")
    with (
        FakeTelegram() as fake,
        running_bot(settings_for(fake, index, ADMIN_USER_IDS=str(ADMIN)), fake),
    ):
        chat, admin = admin_chat(fake)
        help_text = fake.replies_to(fake.message(chat, admin, "/help"))[0].result["text"]
        listed = help_text.split("file (", 1)[1].split(")", 1)[0]
        assert listed == ".txt, .md, .markdown, .html, .htm, .json or .jsonl"
        for name in ("leith.html", "oban.html"):
            paragraphs = [
                f"Berth {n} of the {name[:-5]} docks took {n + 2} trawlers." for n in range(300)
            ]
            page = article_html(f"{name[:-5]} dock ledger", *paragraphs).encode()
            reply = fake.replies_to(fake.document(chat, admin, name, page, "text/html"))[0]
            lines = reply.result["text"].splitlines()
            assert lines[0].startswith(f"Added: {name[:-5]} dock ledger — 300 paragraphs"), lines
            notes = [line for line in lines if line.startswith("Note:")]
            assert notes == [
                f"Note: {name}: only its first 20 passages were indexed (QUOTEBOT_MAX_PASSAGES)."
            ]


def test_why_explains_a_follow_up_as_it_was_answered(
    fake: FakeTelegram, uid: int, group_id: int
) -> None:
    """/why (and "More sources") on the answer to a follow-up search the question it stood for
    in the conversation, not its bare words."""
    group = fake.group_chat(group_id)
    admin, user = fake.user(ADMIN, "Ada"), fake.user(uid)
    [first] = fake.replies_to(fake.message(group, user, "/ask How far is Agadez from Niamey?"))
    follow_up = "How many U.S. soldiers are there?"
    asked = fake.message(group, user, follow_up, reply_to=fake.stored(first))
    [answer] = fake.replies_to(asked)
    assert "1,000" in answer.result["text"]
    why = fake.message(group, admin, "/why", reply_to=fake.stored(answer))
    explained = fake.replies_to(why)[0].result["text"].splitlines()[0]
    assert explained.startswith(follow_up) and "Agadez" in explained and "Niamey" in explained
