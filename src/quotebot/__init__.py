"""quotebot: answers questions about news articles by quoting them, with their source."""

from quotebot.answer import Answer, Engine, answer

__all__ = ["Answer", "Engine", "answer"]
