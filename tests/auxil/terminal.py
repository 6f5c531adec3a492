"""Running `quotebot` on a real pseudo-terminal, as a person at a keyboard would."""

from __future__ import annotations

import fcntl
import os
import pty
import re
import select
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path

from tests.auxil.cli import clean_environment

_ESCAPES = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b[=>]|\r")


class Terminal:
    """`quotebot ARGS` with a terminal of ``columns`` as its stdin, stdout and stderr."""

    def __init__(self, *args: str | Path, cwd: Path, env: dict[str, str], columns: int = 60):
        controller, terminal = pty.openpty()
        fcntl.ioctl(terminal, termios.TIOCSWINSZ, struct.pack("HHHH", 40, columns, 0, 0))
        self.process = subprocess.Popen(
            [sys.executable, "-m", "quotebot", *map(str, args)],
            stdin=terminal,
            stdout=terminal,
            stderr=terminal,
            cwd=cwd,
            env={**clean_environment(), "TERM": "xterm", **env},
            start_new_session=True,
        )
        os.close(terminal)
        self._fd = controller
        self.screen = ""  # everything shown so far, escape sequences removed

    def type(self, keys: str) -> None:
        os.write(self._fd, keys.encode())

    def wait_for(self, text: str, timeout: float = 180, count: int = 1) -> str:
        """Read until ``text`` has been shown ``count`` times; return the screen."""
        deadline = time.monotonic() + timeout
        while self.screen.count(text) < count:
            left = deadline - time.monotonic()
            if left <= 0 or not self._read(left):
                raise AssertionError(f"{text!r} not shown; the screen:\n{self.screen}")
        return self.screen

    def finish(self, timeout: float = 60) -> int:
        """Wait for the program to end, reading what it still shows; its exit status."""
        deadline = time.monotonic() + timeout
        while self.process.poll() is None and time.monotonic() < deadline:
            self._read(0.2)
        while self._read(0.1):
            pass
        os.close(self._fd)
        return self.process.wait(timeout=max(deadline - time.monotonic(), 1))

    def _read(self, timeout: float) -> bool:
        ready, _, _ = select.select([self._fd], [], [], timeout)
        if not ready:
            return False
        try:
            data = os.read(self._fd, 65536)
        except OSError:  # the program ended and closed the terminal
            return False
        self.screen += _ESCAPES.sub("", data.decode(errors="replace"))
        return bool(data)
