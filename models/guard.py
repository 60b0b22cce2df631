"""What the contact-rules guard reads and writes: stop flags, conversations, and every decision."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Index
from sqlmodel import Field, SQLModel

from models.types import AwareDateTime, utcnow

FLAGS = ("cease_contact", "bankruptcy", "deceased", "legal_representation", "opt_out_sms", "opt_out_email",
         "opt_out_call")  # fmt: skip


# A stop flag on a borrower (cease-contact request, bankruptcy, deceased, represented by a lawyer,
# opt-out of a channel); open while `cleared_at` is empty.
class BorrowerFlag(SQLModel, table=True):
    __tablename__ = "borrower_flag"
    __table_args__ = (Index("ix_borrower_flag_borrower_flag", "borrower_id", "flag"),)

    id: int | None = Field(default=None, primary_key=True)
    borrower_id: str = Field(foreign_key="borrower.borrower_id", max_length=64)
    flag: str = Field(max_length=32)
    note: str = Field(default="", max_length=500)  # e.g. the lawyer to contact instead
    set_on: date
    set_at: datetime = Field(default_factory=utcnow, sa_type=AwareDateTime)
    cleared_at: datetime | None = Field(default=None, sa_type=AwareDateTime)
    actor: str | None = Field(default=None, max_length=64)


# A conversation with the borrower (a reached call, an SMS reply): contact pauses for the policy's gap.
class Conversation(SQLModel, table=True):
    __table_args__ = (Index("ix_conversation_borrower_at", "borrower_id", "at"),)

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(unique=True, max_length=200)
    borrower_id: str = Field(foreign_key="borrower.borrower_id", max_length=64)
    at: datetime = Field(sa_type=AwareDateTime)
    channel: str = Field(max_length=16)  # call | sms
    source: str = Field(max_length=64)


# One guard decision on a planned contact: at plan time (the daily run) or at send time (each dispatch).
class ContactDecision(SQLModel, table=True):
    __tablename__ = "contact_decision"
    __table_args__ = (Index("ix_contact_decision_as_of", "as_of"),)

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(index=True, max_length=200)  # the planned action's key
    as_of: date
    borrower_id: str = Field(max_length=64)
    channel: str = Field(max_length=16)
    phase: str = Field(max_length=8)  # plan | send
    verdict: str = Field(max_length=8)  # allow | defer | suppress
    rule: str = Field(max_length=32)
    detail: str = Field(max_length=500)
    at: datetime | None = Field(default=None, sa_type=AwareDateTime)  # allowed / deferred-to moment
    decided_at: datetime = Field(sa_type=AwareDateTime)
