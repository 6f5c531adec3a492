"""Fetching updates so that one update the library cannot read never stops the bot."""

from __future__ import annotations

import json
import logging
from typing import Any

from telegram import Update
from telegram.request import HTTPXRequest

log = logging.getLogger(__name__)


def _readable(raw: Any) -> Any:
    """The update as it came, or only its id when python-telegram-bot cannot read it."""
    try:
        Update.de_json(raw, None)
    except Exception as error:  # noqa: BLE001 (any malformed field; the update is skipped)
        update_id = raw.get("update_id") if isinstance(raw, dict) else None
        log.warning("skipping update %s, which could not be read: %s", update_id, error)
        return {"update_id": update_id}
    return raw


class UpdatesRequest(HTTPXRequest):
    """The getUpdates connection: an update that cannot be read is replaced by an empty one.

    Otherwise one malformed update would fail the whole batch again and again, and long
    polling would stop.
    """

    async def do_request(self, *args: Any, **kwargs: Any) -> tuple[int, bytes]:
        code, payload = await super().do_request(*args, **kwargs)
        if code != 200:
            return code, payload
        try:
            body = json.loads(payload)
        except ValueError:
            return code, payload
        if isinstance(body, dict) and isinstance(body.get("result"), list):
            body["result"] = [_readable(raw) for raw in body["result"]]
            payload = json.dumps(body).encode()
        return code, payload
