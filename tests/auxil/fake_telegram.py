"""A fake Telegram Bot API server on 127.0.0.1, over real HTTP, for the bot's tests.

It answers what the bot calls (getMe, getUpdates with long polling, sendMessage, sendChatAction,
answerCallbackQuery, setMyCommands, getFile and file downloads, editMessageText, ...), records
every call, and checks what Telegram checks: the token, HTML markup (a 400 "can't parse
entities" for broken markup) and the 4096-character limit. Tests queue updates shaped as
Telegram sends them (entities with UTF-16 offsets, nested ``reply_to_message``) and can make
the next call to a method fail, e.g. with 429 ``retry_after``, and block a chat (403).
"""

from __future__ import annotations

import contextlib
import itertools
import json
import re
import socket
import struct
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote, urlsplit

from tests.auxil.telegram_wire import (
    BadMarkup,
    entities_of,
    parse_body,
    utf16_len,
    visible_text,
)

TOKEN = "123456789:AAFakeTokenForTestsOnly_abcdefghijk"
BOT = {"id": 123456789, "is_bot": True, "first_name": "Quotebot", "username": "quote_test_bot"}

__all__ = ["BOT", "TOKEN", "Call", "FakeTelegram", "replied_id", "utf16_len", "visible_text"]


@dataclass
class Call:
    """One request the bot made."""

    method: str
    params: dict[str, Any]
    status: int = 200
    result: Any = None
    at: float = field(default_factory=time.monotonic)

    @property
    def ok(self) -> bool:
        return self.status == 200


LOST_AFTER = -1
"""A fail_next status: the call is carried out, then the connection is reset unanswered."""
RESET_BEFORE = -2
GARBLED = -3  # fail_next status: HTTP 200 with a body cut off mid-JSON (a broken proxy)
"""A fail_next status: the connection is reset before the call is carried out."""


@dataclass
class _Failure:
    method: str
    status: int
    description: str
    retry_after: int | None
    when: Callable[[dict[str, Any]], bool] | None


class FakeTelegram:
    """The fake Bot API server. Use as a context manager; it listens on 127.0.0.1."""

    def __init__(self, token: str = TOKEN, bot: dict[str, Any] | None = None) -> None:
        self.token = token
        self.bot = dict(bot or BOT)
        self.calls: list[Call] = []
        self.files: dict[str, tuple[str, bytes]] = {}
        self.commands: list[dict[str, str]] = []
        self._messages: dict[tuple[int, int], dict[str, Any]] = {}
        self._updates: list[dict[str, Any]] = []
        self._failures: list[_Failure] = []
        self._blocked: set[int] = set()
        self._changed = threading.Condition()
        self._ids = itertools.count(1)
        self._message_ids = itertools.count(1000)
        self._closing = False
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    # -- running -----------------------------------------------------------------------------

    def __enter__(self) -> FakeTelegram:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        with self._changed:
            self._closing = True
            self._changed.notify_all()
        self._server.shutdown()
        self._server.server_close()

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def base_url(self) -> str:
        return f"{self.url}/bot"

    @property
    def base_file_url(self) -> str:
        return f"{self.url}/file/bot"

    # -- what tests do -----------------------------------------------------------------------

    def user(self, user_id: int, name: str = "Ann", username: str | None = None) -> dict[str, Any]:
        """A Telegram user."""
        found = {"id": user_id, "is_bot": False, "first_name": name}
        return {**found, "username": username} if username else found

    def private_chat(self, user: dict[str, Any]) -> dict[str, Any]:
        return {"id": user["id"], "type": "private", "first_name": user["first_name"]}

    def group_chat(self, chat_id: int, title: str = "Newsroom") -> dict[str, Any]:
        return {"id": chat_id, "type": "supergroup", "title": title}

    def message(
        self,
        chat: dict[str, Any],
        user: dict[str, Any],
        text: str | None = None,
        reply_to: dict[str, Any] | None = None,
        **extra: Any,
    ) -> dict[str, Any]:
        """A new message from a user, with the entities Telegram would mark, stored and queued."""
        message: dict[str, Any] = {
            "message_id": next(self._message_ids),
            "date": int(time.time()),
            "chat": chat,
            "from": user,
            **extra,
        }
        if text is not None:
            message["text"] = text
            entities = message.pop("entities", None)
            entities = entities_of(text) if entities is None else entities
            if entities:
                message["entities"] = entities
        if reply_to is not None:
            message["reply_to_message"] = _without_reply(reply_to)
        self._store(message)
        self.push({"message": message})
        return message

    def document(
        self,
        chat: dict[str, Any],
        user: dict[str, Any],
        name: str | None,
        content: bytes,
        mime_type: str = "text/plain",
        caption: str | None = None,
    ) -> dict[str, Any]:
        """A message carrying a document whose bytes the fake serves for download
        (``name`` None: a document without a file name, as some clients send)."""
        file_id = f"file-{next(self._ids)}"
        self.files[file_id] = (f"documents/{file_id}", content)
        document = {
            "file_id": file_id,
            "file_unique_id": f"u{file_id}",
            "mime_type": mime_type,
            "file_size": len(content),
        }
        if name is not None:
            document["file_name"] = name
        extra: dict[str, Any] = {"document": document}
        if caption is not None:
            extra["caption"] = caption
            if entities_of(caption):
                extra["caption_entities"] = entities_of(caption)
        return self.message(chat, user, None, **extra)

    def press(self, user: dict[str, Any], message: dict[str, Any], data: str) -> str:
        """A press of an inline button on one of the bot's messages; returns the query id."""
        query_id = f"query-{next(self._ids)}"
        stored = self._messages.get((message["chat"]["id"], message["message_id"]), message)
        self.push(
            {
                "callback_query": {
                    "id": query_id,
                    "from": user,
                    "chat_instance": "ci-1",
                    "message": stored,
                    "data": data,
                }
            }
        )
        return query_id

    def push(self, update: dict[str, Any]) -> int:
        """Queue an update for getUpdates; returns its update_id."""
        with self._changed:
            update = {"update_id": next(self._ids), **update}
            self._updates.append(update)
            self._changed.notify_all()
            return int(update["update_id"])

    def fail_next(
        self,
        method: str,
        status: int,
        description: str,
        retry_after: int | None = None,
        when: Callable[[dict[str, Any]], bool] | None = None,
    ) -> None:
        """Answer the next call to ``method`` (matching ``when``) with an error."""
        with self._changed:
            self._failures.append(_Failure(method, status, description, retry_after, when))

    def delete(self, message: dict[str, Any]) -> None:
        """The user deletes a message: Telegram no longer nests it as the ``reply_to_message``
        of the messages that reply to it."""
        key = (message["chat"]["id"], message["message_id"])
        with self._changed:
            self._messages.pop(key, None)
            for (chat_id, _), stored in self._messages.items():
                replied = stored.get("reply_to_message")
                if replied and (chat_id, replied["message_id"]) == key:
                    del stored["reply_to_message"]

    def block(self, chat_id: int) -> None:
        """The user of a private chat blocks the bot: from now on every call that writes to
        the chat is refused with 403, as Telegram does."""
        with self._changed:
            self._blocked.add(chat_id)

    def sent(self, chat_id: int | None = None) -> list[Call]:
        """Successful sendMessage calls, optionally to one chat."""
        return [
            call
            for call in self.calls_to("sendMessage")
            if call.ok and (chat_id is None or call.params.get("chat_id") == chat_id)
        ]

    def calls_to(self, method: str) -> list[Call]:
        with self._changed:
            return [call for call in self.calls if call.method == method]

    def wait_for(
        self,
        method: str,
        where: Callable[[Call], bool] = lambda call: True,
        timeout: float = 120,
        count: int = 1,
    ) -> list[Call]:
        """Wait until ``count`` calls to ``method`` match ``where``; return them."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                found = [c for c in self.calls if c.method == method and where(c)]
                if len(found) >= count:
                    return found
                left = deadline - time.monotonic()
                if left <= 0:
                    seen = [(c.method, c.params.get("chat_id")) for c in self.calls[-15:]]
                    raise AssertionError(f"no {count} {method} call(s) in {timeout}s; last: {seen}")
                self._changed.wait(left)

    def quiet(self, seconds: float, timeout: float = 120) -> None:
        """Wait until the bot has made no call for ``seconds`` (a quiet window), so that
        "nothing more was sent" is checked after what was still coming has come."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                last = max((c.at for c in self.calls), default=0.0)
                idle = time.monotonic() - last
                if idle >= seconds:
                    return
                if time.monotonic() > deadline:
                    raise AssertionError(f"the bot did not go quiet within {timeout} s")
                self._changed.wait(seconds - idle)

    def replies_to(
        self, message: dict[str, Any], timeout: float = 120, count: int = 1
    ) -> list[Call]:
        """Wait for the bot's messages that reply to ``message``."""
        return self.wait_for(
            "sendMessage", lambda call: call.ok and replied_id(call) == message["message_id"],
            timeout, count,
        )  # fmt: skip

    def stored(self, call: Call) -> dict[str, Any]:
        """The message object a successful send call created."""
        return dict(call.result)

    # -- serving -----------------------------------------------------------------------------

    def _store(self, message: dict[str, Any]) -> None:
        self._messages[(message["chat"]["id"], message["message_id"])] = message

    def handle(self, method: str, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        """Answer one Bot API call: (HTTP status, JSON body)."""
        call = Call(method, params)
        with self._changed:
            failure = next(
                (
                    f
                    for f in self._failures
                    if f.method == method and (f.when is None or f.when(params))
                ),
                None,
            )
            if failure is not None:
                self._failures.remove(failure)
        if failure is not None:
            body: dict[str, Any] = {
                "ok": False,
                "error_code": failure.status,
                "description": failure.description,
            }
            if failure.retry_after is not None:
                body["parameters"] = {"retry_after": failure.retry_after}
            if failure.status == LOST_AFTER:  # done, but the answer never gets back
                call.result = self._answer(method, params)
                self._record(call, 200, {"ok": True, "result": call.result})
                return LOST_AFTER, {}
            if failure.status == RESET_BEFORE:
                return RESET_BEFORE, {}
            if failure.status == GARBLED:
                self._record(call, GARBLED, {})
                return GARBLED, {"garbled": failure.description}
            return self._record(call, failure.status, body)
        if method == "getUpdates":
            return 200, {"ok": True, "result": self._get_updates(params)}
        if method in _WRITES and params.get("chat_id") in self._blocked:
            body = {"ok": False, "error_code": 403,
                    "description": "Forbidden: bot was blocked by the user"}  # fmt: skip
            return self._record(call, 403, body)
        try:
            result = self._answer(method, params)
        except _ApiError as error:
            body = {"ok": False, "error_code": error.status, "description": error.description}
            return self._record(call, error.status, body)
        call.result = result
        return self._record(call, 200, {"ok": True, "result": result})

    def _record(self, call: Call, status: int, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        call.status = status
        with self._changed:
            self.calls.append(call)
            self._changed.notify_all()
        return status, body

    def _get_updates(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        offset = int(params.get("offset") or 0)
        limit = int(params.get("limit") or 100)
        deadline = time.monotonic() + min(float(params.get("timeout") or 0), 30)
        with self._changed:
            self._updates = [u for u in self._updates if u["update_id"] >= offset]
            while not self._updates and not self._closing:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self._changed.wait(left)
            return list(self._updates[:limit])

    def _answer(self, method: str, params: dict[str, Any]) -> Any:
        if method == "getMe":
            return {**self.bot, "can_join_groups": True, "can_read_all_group_messages": False}
        if method in ("sendMessage", "editMessageText"):
            return self._send(method, params)
        if method == "editMessageReplyMarkup":
            key = (params["chat_id"], params["message_id"])
            message = self._messages.get(key)
            if message is None:
                raise _ApiError(400, "Bad Request: message to edit not found")
            message.pop("reply_markup", None)
            if params.get("reply_markup"):
                message["reply_markup"] = params["reply_markup"]
            return message
        if method == "setMyCommands":
            self.commands = list(params.get("commands") or [])
            return True
        if method == "getMyCommands":
            return self.commands
        if method == "getFile":
            found = self.files.get(params.get("file_id", ""))
            if found is None:
                raise _ApiError(400, "Bad Request: invalid file_id")
            return {
                "file_id": params["file_id"],
                "file_unique_id": "u" + params["file_id"],
                "file_size": len(found[1]),
                "file_path": found[0],
            }
        if method in {
            "sendChatAction", "answerCallbackQuery", "deleteWebhook", "setWebhook",
            "deleteMessage", "close", "logOut", "setMyDescription", "deleteMyCommands",
        }:  # fmt: skip
            return True
        raise _ApiError(404, "Not Found: method not found")

    def _send(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        text = str(params.get("text") or "")
        if params.get("parse_mode") == "HTML":
            try:
                text = visible_text(text)
            except BadMarkup as error:
                raise _ApiError(400, f"Bad Request: can't parse entities: {error}") from None
        if not text.strip():
            raise _ApiError(400, "Bad Request: message text is empty")
        if utf16_len(text) > 4096:
            raise _ApiError(400, "Bad Request: message is too long")
        chat_id = params["chat_id"]
        if method == "editMessageText":
            message = self._messages.get((chat_id, params.get("message_id")))
            if message is None:
                raise _ApiError(400, "Bad Request: message to edit not found")
            message["text"] = text
            return message
        chat = self._chat(chat_id)
        message = {
            "message_id": next(self._message_ids),
            "date": int(time.time()),
            "chat": chat,
            "from": {k: v for k, v in self.bot.items()},
            "text": text,
        }
        reply = params.get("reply_parameters") or {}
        reply_id = reply.get("message_id") or params.get("reply_to_message_id")
        if reply_id is not None:
            replied = self._messages.get((chat_id, int(reply_id)))
            if replied is None and not reply.get("allow_sending_without_reply"):
                raise _ApiError(400, "Bad Request: message to be replied not found")
            if replied is not None:
                message["reply_to_message"] = _without_reply(replied)
        if params.get("reply_markup"):
            message["reply_markup"] = params["reply_markup"]
        self._store(message)
        return message

    def _chat(self, chat_id: int) -> dict[str, Any]:
        for (known, _), message in self._messages.items():
            if known == chat_id:
                return dict(message["chat"])
        return {"id": chat_id, "type": "private" if chat_id > 0 else "supergroup"}


_WRITES = {"sendMessage", "sendChatAction", "sendDocument", "editMessageText",
           "editMessageReplyMarkup"}  # fmt: skip
"""Calls that write to a chat (refused in a chat that blocked the bot)."""


class _ApiError(Exception):
    def __init__(self, status: int, description: str) -> None:
        super().__init__(description)
        self.status = status
        self.description = description


def _without_reply(message: dict[str, Any]) -> dict[str, Any]:
    """A message as nested in ``reply_to_message``: without its own reply."""
    return {k: v for k, v in message.items() if k != "reply_to_message"}


def replied_id(call: Call) -> int | None:
    """The message id a send call replies to."""
    reply = call.params.get("reply_parameters") or {}
    found = reply.get("message_id") or call.params.get("reply_to_message_id")
    return int(found) if found is not None else None


def _handler_for(fake: FakeTelegram) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            pass

        def _reply(self, status: int, body: bytes, content_type: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                self.wfile.write(body)  # fails when the bot stopped during a long poll

        def _json(self, status: int, body: dict[str, Any]) -> None:
            self._reply(status, json.dumps(body).encode(), "application/json")

        def do_GET(self) -> None:  # noqa: N802
            path = unquote(urlsplit(self.path).path)
            prefix = f"/file/bot{fake.token}/"
            if path.startswith(prefix):
                wanted = path[len(prefix) :]
                for name, content in fake.files.values():
                    if name == wanted:
                        self._reply(200, content, "application/octet-stream")
                        return
            self._json(404, {"ok": False, "error_code": 404, "description": "Not Found"})

        def do_POST(self) -> None:  # noqa: N802
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length)
            match = re.fullmatch(r"/bot([^/]+)/(\w+)", unquote(urlsplit(self.path).path))
            if match is None:
                self._json(404, {"ok": False, "error_code": 404, "description": "Not Found"})
                return
            if match[1] != fake.token:
                self._json(401, {"ok": False, "error_code": 401, "description": "Unauthorized"})
                return
            params = parse_body(self.headers.get("Content-Type", ""), body)
            status, answer = fake.handle(match[2], params)
            if status in (LOST_AFTER, RESET_BEFORE):
                self.close_connection = True
                with contextlib.suppress(OSError):
                    self.connection.setsockopt(
                        socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)
                    )  # a reset (RST), as a proxy that dies would send
                    self.connection.close()
                return
            if status == GARBLED:
                self._reply(200, answer["garbled"].encode(), "application/json")
                return
            self._json(status if status != 200 else HTTPStatus.OK, answer)

    return Handler
