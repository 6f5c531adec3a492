"""Configuration from the environment and a .env file, in one group per stage.

Every setting keeps its own environment name (``QUOTEBOT_FETCH_TIMEOUT``, ``TELEGRAM_BOT_TOKEN``;
see .env.example); ``Settings()`` reads them all, ``Settings().sources.fetch_timeout`` is one.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, Field, SecretStr, field_validator
from pydantic_core import PydanticCustomError
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from quotebot.durations import parse_duration

Ids = Annotated[frozenset[int], NoDecode]
"""Comma-separated Telegram user or chat ids, e.g. ``12345,-1001234567890``."""


def _seconds(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    try:
        return parse_duration(value)
    except ValueError as error:  # said as it is, without pydantic's "Value error, "
        raise PydanticCustomError("duration", str(error)) from None


Duration = Annotated[float, BeforeValidator(_seconds)]
"""A duration written as a number and a unit ("30m", "2h", "30d"), in seconds."""


class _Group(BaseSettings):
    """A group of settings, each read from its environment name or ``.env``."""

    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")


class Paths(_Group):
    """Where the index and the articles of ``quotebot run`` are."""

    index_dir: Path = Field(default=Path("index"), validation_alias="QUOTEBOT_INDEX_DIR")
    articles_dir: Path = Field(default=Path("articles"), validation_alias="QUOTEBOT_ARTICLES_DIR")


class SourceSettings(_Group):
    """Reading sources (quotebot index build/add, the bot's /add URL)."""

    allow_private_urls: bool = Field(default=False, validation_alias="QUOTEBOT_ALLOW_PRIVATE_URLS")
    fetch_timeout: float = Field(default=15.0, gt=0, validation_alias="QUOTEBOT_FETCH_TIMEOUT")
    max_download_mb: float = Field(default=10.0, gt=0, validation_alias="QUOTEBOT_MAX_DOWNLOAD_MB")
    max_file_mb: float = Field(default=20.0, gt=0, validation_alias="QUOTEBOT_MAX_FILE_MB")
    max_feed_entries: int = Field(default=50, ge=1, validation_alias="QUOTEBOT_MAX_FEED_ENTRIES")
    feed_timeout: float = Field(default=60.0, gt=0, validation_alias="QUOTEBOT_FEED_TIMEOUT")


class FeedSettings(_Group):
    """Following feeds (quotebot feed, and the polls of quotebot run and bot): the defaults
    of ``feed add``, and how often running processes look for due feeds."""

    every: Duration = Field(default=1800.0, gt=0, validation_alias="QUOTEBOT_FEED_EVERY")
    keep: Duration = Field(default=30 * 86400.0, gt=0, validation_alias="QUOTEBOT_FEED_KEEP")
    check_seconds: float = Field(default=60.0, gt=0, validation_alias="QUOTEBOT_FEED_CHECK_SECONDS")


class EmbeddingSettings(_Group):
    """Splitting and embedding passages (see README, Speed)."""

    backend: Literal["torch", "onnx", "onnx-int8"] = Field(
        default="onnx-int8", validation_alias="QUOTEBOT_EMBEDDING_BACKEND"
    )
    max_passages: int = Field(default=2000, ge=1, validation_alias="QUOTEBOT_MAX_PASSAGES")
    cache_dir: Path = Field(
        default=Path("~/.cache/quotebot"), validation_alias="QUOTEBOT_CACHE_DIR"
    )


class StorageSettings(_Group):
    """The index: in a folder (the FAISS index type), or wholly in a PostgreSQL database
    with pgvector (``QUOTEBOT_DATABASE_URL``)."""

    dense_index: Literal["auto", "flat", "hnsw", "ivfpq"] = Field(
        default="auto", validation_alias="QUOTEBOT_DENSE_INDEX"
    )
    flat_limit: int = Field(default=100_000, ge=0, validation_alias="QUOTEBOT_FLAT_LIMIT")
    database_url: str = Field(default="", validation_alias="QUOTEBOT_DATABASE_URL")


class AnswerSettings(_Group):
    """Answers: the confidence at which the short answer is shown in bold (0: always, 1: never;
    unset: the threshold fitted on squad_dev8, see README "Answer quality"); how long a
    conversation waits for a follow-up before the next question starts afresh."""

    answer_threshold: float | None = Field(
        default=None, ge=0, le=1, validation_alias="QUOTEBOT_ANSWER_THRESHOLD"
    )
    conversation_minutes: float = Field(
        default=10.0, gt=0, validation_alias="QUOTEBOT_CONVERSATION_MINUTES"
    )

    @field_validator("answer_threshold", mode="before")
    @classmethod
    def _empty_is_unset(cls, value: Any) -> Any:
        return _unset_when_empty(value)


class TelegramSettings(_Group):
    """The Telegram bot (quotebot.telegram)."""

    bot_token: SecretStr | None = Field(default=None, validation_alias="TELEGRAM_BOT_TOKEN")
    api_base_url: str = Field(
        default="https://api.telegram.org/bot", validation_alias="TELEGRAM_API_BASE_URL"
    )
    api_file_url: str | None = Field(default=None, validation_alias="TELEGRAM_API_FILE_URL")
    admin_user_ids: Ids = Field(default=frozenset(), validation_alias="ADMIN_USER_IDS")
    allowed_chat_ids: Ids = Field(default=frozenset(), validation_alias="ALLOWED_CHAT_IDS")
    questions_per_minute: int = Field(
        default=10, ge=0, validation_alias="QUOTEBOT_QUESTIONS_PER_MINUTE"
    )
    # Webhook mode (several replicas behind a load balancer); unset: long polling.
    webhook_url: str | None = Field(default=None, validation_alias="TELEGRAM_WEBHOOK_URL")
    webhook_listen: str = Field(default="0.0.0.0:8443", validation_alias="TELEGRAM_WEBHOOK_LISTEN")
    webhook_secret: SecretStr | None = Field(
        default=None, validation_alias="TELEGRAM_WEBHOOK_SECRET"
    )

    @field_validator("bot_token", "api_file_url", "webhook_url", "webhook_secret", mode="before")
    @classmethod
    def _empty_is_unset(cls, value: Any) -> Any:
        return _unset_when_empty(value)

    @field_validator("api_base_url", mode="before")
    @classmethod
    def _empty_is_telegram(cls, value: Any) -> Any:
        return (
            "https://api.telegram.org/bot"
            if isinstance(value, str) and not value.strip()
            else value
        )

    @field_validator("admin_user_ids", "allowed_chat_ids", mode="before")
    @classmethod
    def _split_ids(cls, value: Any) -> Any:
        if isinstance(value, str):
            parts = [part.strip() for part in value.replace(";", ",").split(",")]
            try:
                return frozenset(int(part) for part in parts if part)
            except ValueError:  # a custom error: pydantic says it without "Value error, "
                raise PydanticCustomError(
                    "ids",
                    "expected comma-separated numeric ids (e.g. 12345,67890), got {value}",
                    {"value": repr(value)},
                ) from None
        return value


def _unset_when_empty(value: Any) -> Any:
    return None if isinstance(value, str) and not value.strip() else value


_GROUPS: dict[str, type[_Group]] = {
    "paths": Paths,
    "sources": SourceSettings,
    "feeds": FeedSettings,
    "embedding": EmbeddingSettings,
    "storage": StorageSettings,
    "answers": AnswerSettings,
    "telegram": TelegramSettings,
}


class Settings(BaseModel):
    """Every setting, read from the environment or ``.env`` (see .env.example), by group."""

    paths: Paths = Field(default_factory=Paths)
    sources: SourceSettings = Field(default_factory=SourceSettings)
    feeds: FeedSettings = Field(default_factory=FeedSettings)
    embedding: EmbeddingSettings = Field(default_factory=EmbeddingSettings)
    storage: StorageSettings = Field(default_factory=StorageSettings)
    answers: AnswerSettings = Field(default_factory=AnswerSettings)
    telegram: TelegramSettings = Field(default_factory=TelegramSettings)

    @classmethod
    def read(cls, env_file: Path | str | None = ".env", **values: Any) -> Settings:
        """The settings from the environment and ``env_file`` (None: no file), with
        ``values`` given by environment name (``TELEGRAM_BOT_TOKEN="..."``) taking precedence."""
        groups: dict[str, Any] = {}
        for name, group in _GROUPS.items():
            names = {field.validation_alias for field in group.model_fields.values()}
            mine = {key: value for key, value in values.items() if key in names}
            groups[name] = group(_env_file=env_file, **mine)  # type: ignore[call-arg]
        unknown = set(values) - {
            field.validation_alias for g in _GROUPS.values() for field in g.model_fields.values()
        }
        if unknown:
            raise TypeError(f"unknown settings: {', '.join(sorted(unknown))}")
        return cls(**groups)
