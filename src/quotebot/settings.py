"""Configuration from the environment and a .env file."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Every setting, read from the environment or ``.env`` (see .env.example)."""

    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    index_dir: Path = Field(default=Path("index"), validation_alias="QUOTEBOT_INDEX_DIR")
    articles_dir: Path = Field(default=Path("articles"), validation_alias="QUOTEBOT_ARTICLES_DIR")
