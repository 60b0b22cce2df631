"""Planned actions: what the policy calls for on a day, keyed so a day is planned once."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Index
from sqlmodel import Field, SQLModel

from models.types import AwareDateTime, utcnow

PLANNED = "planned"


# One contact, letter, call task or escalation the policy planned; `key` is the idempotency key.
class CollectionAction(SQLModel, table=True):
    __tablename__ = "collection_action"
    __table_args__ = (Index("ix_collection_action_as_of_channel", "as_of", "channel"),)

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(unique=True, max_length=200)
    as_of: date
    scope: str = Field(max_length=8)  # loan | borrower
    borrower_id: str = Field(foreign_key="borrower.borrower_id", index=True, max_length=64)
    loan_id: int = Field(foreign_key="loan.id", index=True)
    loan_nos: str = Field(max_length=2000)  # comma-separated loan numbers the action covers
    stage: str = Field(max_length=16)
    risk: str = Field(max_length=8)
    action: str = Field(max_length=64)
    channel: str = Field(max_length=16)
    template: str = Field(max_length=64)
    tone: str = Field(max_length=16)
    status: str = Field(default=PLANNED, max_length=16)  # planned | suppressed | cancelled
    reason: str | None = Field(default=None, max_length=200)  # why suppressed (dispute_hold, promise_open) or cancelled
    audience: str = Field(default="borrower", max_length=16)  # borrower | third_party
    # the guard's plan-time decision: its rule, and for a deferred contact the next allowed moment
    rule: str | None = Field(default=None, max_length=32)
    not_before: datetime | None = Field(default=None, sa_type=AwareDateTime)
    arm: str | None = Field(default=None, max_length=32)  # the experiment arm whose strategy planned it
    created_at: datetime = Field(default_factory=utcnow, sa_type=AwareDateTime)
