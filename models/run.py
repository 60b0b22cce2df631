"""One daily collection run: its day, its Prefect flow run and its summary counts."""

from __future__ import annotations

from datetime import date, datetime

from sqlmodel import Field, SQLModel

from models.types import AwareDateTime, utcnow


class CollectionRun(SQLModel, table=True):
    __tablename__ = "collection_run"

    id: int | None = Field(default=None, primary_key=True)
    as_of: date = Field(index=True)
    flow_run_id: str | None = Field(default=None, max_length=64)
    started_at: datetime = Field(default_factory=utcnow, sa_type=AwareDateTime)
    finished_at: datetime | None = Field(default=None, sa_type=AwareDateTime)
    status: str = Field(default="running", max_length=16)
    summary: str | None = None  # JSON counts, written at the end
