"""Configuration from the environment and a .env file."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


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

    # Embedding (see README, Speed).
    embedding_backend: Literal["torch", "onnx", "onnx-int8"] = Field(
        default="onnx-int8", validation_alias="QUOTEBOT_EMBEDDING_BACKEND"
    )
    cache_dir: Path = Field(
        default=Path("~/.cache/quotebot"), validation_alias="QUOTEBOT_CACHE_DIR"
    )
