"""Who took personal data out of Arrears: every hand-off of evidence packs is recorded, and an
unmasked one (real ID numbers, phones and emails, for a firm filing a claim) says who asked and why."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Text
from sqlmodel import Field, SQLModel

from models.types import AwareDateTime


class ExportAudit(SQLModel, table=True):
    __tablename__ = "export_audit"

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(sa_type=AwareDateTime, index=True)
    actor: str = Field(max_length=64)  # who ran the export (--by, else the OS user)
    kind: str = Field(max_length=32)  # legal_packs
    unmasked: bool = False  # True: the files hold clear identity data
    reason: str = Field(default="", sa_type=Text)  # required when unmasked
    cases: str = Field(sa_type=Text)  # JSON list of the legal case references exported
    destination: str = Field(sa_type=Text)  # the folder written to
    files: str = Field(sa_type=Text)  # JSON {file name: sha256}
