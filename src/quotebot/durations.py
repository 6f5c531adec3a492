"""Durations as people write them ("30m", "2h", "30d") and as messages say them ("20 min")."""

from __future__ import annotations

import re

UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*$", re.IGNORECASE)


def parse_duration(text: str) -> float:
    """Seconds in a duration: a number and a unit, s, m, h, d or w ("30m", "2h", "30d").

    Raises:
        ValueError: it is not one, or it is zero; the message quotes it and shows the form.
    """
    match = _DURATION.match(str(text))
    if match is None:
        raise ValueError(
            f"{text!r} is not a duration: write a number and a unit, e.g. 30m, 2h or 30d "
            "(s, m, h, d or w)"
        )
    seconds = float(match[1]) * UNITS[match[2].lower()]
    if seconds <= 0:
        raise ValueError(f"{text!r} is not a duration: it must be longer than nothing")
    return seconds


def say_duration(seconds: float) -> str:
    """A duration as a message says it, rounded to its largest unit: "45 s", "20 min",
    "2 h", "30 days"."""
    seconds = max(seconds, 0.0)
    for size, unit in ((86400, " days"), (3600, " h"), (60, " min")):
        if seconds >= size:
            amount = seconds / size
            shown = f"{amount:.0f}" if amount >= 9.95 else f"{amount:.1f}".removesuffix(".0")
            return f"{shown}{' day' if shown == '1' and size == 86400 else unit}"
    return f"{seconds:.0f} s"
