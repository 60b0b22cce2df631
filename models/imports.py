"""Import runs and the rows they quarantined (file, line, column, reason)."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from models.types import AwareDateTime, utcnow


class ImportRun(SQLModel, table=True):
    __tablename__ = "import_run"

    id: int | None = Field(default=None, primary_key=True)
    source: str = Field(max_length=1000)
    started_at: datetime = Field(default_factory=utcnow, sa_type=AwareDateTime)
    rows_read: int = 0
    rows_imported: int = 0
    rows_quarantined: int = 0


# A bad input row kept for review; `row` is a masked copy (no raw ID numbers, phones, emails).
class QuarantinedRow(SQLModel, table=True):
    __tablename__ = "quarantined_row"

    id: int | None = Field(default=None, primary_key=True)
    import_run_id: int = Field(foreign_key="import_run.id", index=True)
    file: str = Field(max_length=64)
    line: int
    column: str | None = Field(default=None, max_length=64)
    reason: str = Field(max_length=500)
    row: str = Field(max_length=4000)  # JSON, masked
