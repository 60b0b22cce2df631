"""Demand letters (催款函): one PDF per planned letter action, archived with its checksum."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Index, Text
from sqlmodel import Field, SQLModel

from models.types import AwareDateTime, Money, utcnow

RENDERED = "rendered"
FAILED = "failed"


# One letter; `key` is the planned action's idempotency key, `reference` the number printed on it.
class Letter(SQLModel, table=True):
    __table_args__ = (Index("ix_letter_as_of_status", "as_of", "status"),)

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(unique=True, max_length=200)
    reference: str = Field(unique=True, max_length=40)
    as_of: date  # the letter date: amounts are the engine's on this day
    loan_id: int = Field(foreign_key="loan.id", index=True)
    borrower_id: str = Field(foreign_key="borrower.borrower_id", index=True, max_length=64)
    template: str = Field(max_length=64)
    locale: str = Field(max_length=8)
    addressee: str = Field(max_length=200)  # name and postal address as printed (the mail house posts to these)
    address: str = Field(sa_type=Text)
    currency: str = Field(max_length=3)
    dpd: int
    principal: Decimal = Field(sa_type=Money)
    interest: Decimal = Field(sa_type=Money)
    penalty: Decimal = Field(sa_type=Money)
    fees: Decimal = Field(sa_type=Money)
    total: Decimal = Field(sa_type=Money)
    deadline: date
    status: str = Field(max_length=12)  # rendered | failed (a re-run tries it again) | cancelled (cure, dispute)
    error: str | None = Field(default=None, sa_type=Text)
    path: str | None = Field(default=None, max_length=300)  # relative to the letters directory
    sha256: str | None = Field(default=None, max_length=64)
    pages: int | None = None
    size_bytes: int | None = None
    chunk: str | None = Field(default=None, max_length=80)  # the document it was laid out in (re-render = same bytes)
    print_batch: str | None = Field(default=None, max_length=120)  # the mail-house file it went out in
    arm: str | None = Field(default=None, max_length=32)  # the experiment arm of its action
    created_at: datetime = Field(default_factory=utcnow, sa_type=AwareDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=AwareDateTime)
