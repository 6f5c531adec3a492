"""quotebot: answers questions about news articles by quoting them, with their source."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from quotebot.core import Engine, answer
    from quotebot.records import Answer

__all__ = ["Answer", "Engine", "answer"]


def __getattr__(name: str) -> Any:
    # Loaded on first use, so that `import quotebot.cli` starts (and a Ctrl-C while it
    # starts stays quiet) without first loading the model code.
    if name in __all__:
        from quotebot import core

        return getattr(core, name)
    raise AttributeError(f"module 'quotebot' has no attribute {name!r}")
