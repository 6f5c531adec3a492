"""Running the installed `quotebot` command as a user would, in a subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DEVELOPER_SETTINGS = ("QUOTEBOT_", "TELEGRAM_", "ADMIN_USER_IDS", "ALLOWED_CHAT_IDS")


def clean_environment() -> dict[str, str]:
    """The environment without the developer's own quotebot and Telegram settings."""
    return {k: v for k, v in os.environ.items() if not k.startswith(DEVELOPER_SETTINGS)}


def quotebot(
    *args: str | Path,
    stdin: str = "",
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
    timeout: float = 300,
) -> subprocess.CompletedProcess[str]:
    """Run `quotebot ARGS...` and capture its output, in ``cwd`` (default: a new empty
    folder, so that no developer's ``.env`` or ``./index`` is read)."""
    if cwd is None:
        cwd = Path(tempfile.mkdtemp(prefix="quotebot-cli-"))
    return subprocess.run(
        [sys.executable, "-m", "quotebot", *map(str, args)],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=cwd,
        env={**clean_environment(), **(env or {})},
        timeout=timeout,
    )
