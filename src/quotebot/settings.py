"""Configuration from the environment and a .env file."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

Ids = Annotated[frozenset[int], NoDecode]
"""Comma-separated Telegram user or chat ids, e.g. ``12345,-1001234567890``."""


class Settings(BaseSettings):
    """Every setting, read from the environment or ``.env`` (see .env.example)."""

    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    index_dir: Path = Field(default=Path("index"), validation_alias="QUOTEBOT_INDEX_DIR")
    articles_dir: Path = Field(default=Path("articles"), validation_alias="QUOTEBOT_ARTICLES_DIR")

    # Reading sources (quotebot index build/add, the bot's /add URL).
    allow_private_urls: bool = Field(default=False, validation_alias="QUOTEBOT_ALLOW_PRIVATE_URLS")
    fetch_timeout: float = Field(default=15.0, gt=0, validation_alias="QUOTEBOT_FETCH_TIMEOUT")
    max_download_mb: float = Field(default=10.0, gt=0, validation_alias="QUOTEBOT_MAX_DOWNLOAD_MB")
    max_file_mb: float = Field(default=20.0, gt=0, validation_alias="QUOTEBOT_MAX_FILE_MB")
    max_feed_entries: int = Field(default=50, ge=1, validation_alias="QUOTEBOT_MAX_FEED_ENTRIES")
    feed_timeout: float = Field(default=60.0, gt=0, validation_alias="QUOTEBOT_FEED_TIMEOUT")
    max_passages: int = Field(default=2000, ge=1, validation_alias="QUOTEBOT_MAX_PASSAGES")

    # Embedding (see README, Speed).
    embedding_backend: Literal["torch", "onnx", "onnx-int8"] = Field(
        default="onnx-int8", validation_alias="QUOTEBOT_EMBEDDING_BACKEND"
    )
    dense_index: Literal["auto", "flat", "hnsw", "ivfpq"] = Field(
        default="auto", validation_alias="QUOTEBOT_DENSE_INDEX"
    )
    flat_limit: int = Field(default=100_000, ge=0, validation_alias="QUOTEBOT_FLAT_LIMIT")
    qdrant_url: str = Field(default="", validation_alias="QUOTEBOT_QDRANT_URL")
    qdrant_api_key: str = Field(default="", validation_alias="QUOTEBOT_QDRANT_API_KEY")
    cache_dir: Path = Field(
        default=Path("~/.cache/quotebot"), validation_alias="QUOTEBOT_CACHE_DIR"
    )

    # Answers: the confidence at which the short answer is shown in bold (0: always, 1: never;
    # unset: the threshold fitted on squad_dev8, see README "Answer quality").
    answer_threshold: float | None = Field(
        default=None, ge=0, le=1, validation_alias="QUOTEBOT_ANSWER_THRESHOLD"
    )

    # The Telegram bot (quotebot.telegram).
    telegram_bot_token: SecretStr | None = Field(
        default=None, validation_alias="TELEGRAM_BOT_TOKEN"
    )
    telegram_api_base_url: str = Field(
        default="https://api.telegram.org/bot", validation_alias="TELEGRAM_API_BASE_URL"
    )
    telegram_api_file_url: str | None = Field(
        default=None, validation_alias="TELEGRAM_API_FILE_URL"
    )
    admin_user_ids: Ids = Field(default=frozenset(), validation_alias="ADMIN_USER_IDS")
    allowed_chat_ids: Ids = Field(default=frozenset(), validation_alias="ALLOWED_CHAT_IDS")
    questions_per_minute: int = Field(
        default=10, ge=0, validation_alias="QUOTEBOT_QUESTIONS_PER_MINUTE"
    )

    @field_validator(
        "telegram_bot_token", "telegram_api_file_url", "answer_threshold", mode="before"
    )
    @classmethod
    def _empty_is_unset(cls, value: Any) -> Any:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("telegram_api_base_url", mode="before")
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
            except ValueError:
                raise ValueError(f"expected comma-separated numeric ids, got {value!r}") from None
        return value
