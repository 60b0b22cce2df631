"""One typed settings object, read once at the edge (CLI command, flow entry)."""

from __future__ import annotations

import os
from datetime import date, datetime
from functools import lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ARREARS_", extra="ignore")

    var_dir: Path = Field(default=Path("var"), description="Where the SQLite book, letters and reports go.")
    database_url: str = Field(default="", description="SQLAlchemy URL; empty = SQLite file var_dir/arrears.db.")
    policy_path: Path | None = Field(default=None, description="Strategy policy YAML; empty = shipped default.")
    lender_timezone: str = "Asia/Shanghai"
    batch_size: int = Field(default=25_000, ge=100, description="Loans per Prefect task.")
    workers: int = Field(default_factory=lambda: max(1, os.cpu_count() or 1), ge=1)
    environment: str = "local"

    @field_validator("lender_timezone")
    @classmethod
    def _known_zone(cls, v: str) -> str:
        ZoneInfo(v)  # raises for an unknown zone
        return v

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.var_dir / 'arrears.db').resolve()}"

    def today(self, now: datetime) -> date:
        """The lender's calendar day at ``now`` (aware)."""
        return now.astimezone(ZoneInfo(self.lender_timezone)).date()


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
