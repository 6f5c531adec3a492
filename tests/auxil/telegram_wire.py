"""Telegram's wire format as the fake server needs it: HTML checks, entities, request bodies."""

from __future__ import annotations

import email.parser
import email.policy
import html
import json
import re
from typing import Any
from urllib.parse import parse_qsl

_ALLOWED_TAGS = {
    "b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "a", "code", "pre",
    "blockquote", "tg-spoiler", "span", "tg-emoji",
}  # fmt: skip
_TAG = re.compile(
    r"<(/?)([a-zA-Z][a-zA-Z0-9-]*)((?:\s+[a-zA-Z-]+(?:=(?:\"[^\"]*\"|'[^']*'))?)*)\s*>"
)
_ENTITY = re.compile(r"&(lt|gt|amp|quot|#\d+|#x[0-9a-fA-F]+);")
_MENTION = re.compile(r"(?<![\w@.])@[A-Za-z0-9_]{3,}")
_COMMAND = re.compile(r"^/[A-Za-z0-9_]+(?:@[A-Za-z0-9_]+)?")
_TEXT_PARAMS = {"text", "caption", "callback_query_id", "parse_mode", "action", "data", "file_id"}


def utf16_len(text: str) -> int:
    """Length as Telegram counts it."""
    return len(text.encode("utf-16-le")) // 2


class BadMarkup(ValueError):
    """HTML that Telegram would refuse."""


def visible_text(markup: str) -> str:
    """The text Telegram shows for HTML markup; raises BadMarkup like Telegram's parser."""
    stack: list[str] = []
    out: list[str] = []
    position = 0
    while position < len(markup):
        char = markup[position]
        if char == "<":
            tag = _TAG.match(markup, position)
            if tag is None:
                raise BadMarkup(f"Unexpected start tag at byte offset {position}")
            closing, name = tag.group(1), tag.group(2).lower()
            if name not in _ALLOWED_TAGS:
                raise BadMarkup(f'Unsupported start tag "{name}" at byte offset {position}')
            if closing:
                if not stack or stack.pop() != name:
                    raise BadMarkup(
                        f'Unmatched end tag at byte offset {position}, expected "{name}"'
                    )
            else:
                stack.append(name)
            position = tag.end()
        elif char == "&":
            entity = _ENTITY.match(markup, position)
            if entity is None:
                raise BadMarkup(f"Unsupported HTML entity at byte offset {position}")
            out.append(html.unescape(entity.group(0)))
            position = entity.end()
        elif char == ">":
            raise BadMarkup(f"Unexpected end tag at byte offset {position}")
        else:
            out.append(char)
            position += 1
    if stack:
        raise BadMarkup(f'Can\'t find end tag corresponding to start tag "{stack[-1]}"')
    return "".join(out)


def entities_of(text: str) -> list[dict[str, Any]]:
    """The entities Telegram marks in a user's text: a leading /command and @mentions."""
    entities = []
    command = _COMMAND.match(text)
    if command:
        entities.append({"type": "bot_command", "offset": 0, "length": utf16_len(command[0])})
    for mention in _MENTION.finditer(text):
        if command and mention.start() < command.end():
            continue
        entities.append(
            {
                "type": "mention",
                "offset": utf16_len(text[: mention.start()]),
                "length": utf16_len(mention[0]),
            }
        )
    return entities


def _decode(key: str, value: str) -> Any:
    if key in _TEXT_PARAMS:
        return value
    try:
        return json.loads(value)
    except ValueError:
        return value


def parse_body(content_type: str, body: bytes) -> dict[str, Any]:
    if content_type.startswith("multipart/form-data"):
        parsed = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
            b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + body
        )
        fields: dict[str, Any] = {}
        for part in parsed.iter_parts():
            name = part.get_param("name", header="content-disposition")
            payload = part.get_payload(decode=True) or b""
            fields[str(name)] = payload.decode("utf-8", "replace")
        return {k: _decode(k, v) for k, v in fields.items()}
    if content_type.startswith("application/json"):
        data = json.loads(body or b"{}")
        return dict(data)
    return {k: _decode(k, v) for k, v in parse_qsl(body.decode(), keep_blank_values=True)}
