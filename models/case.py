"""Collection cases and what happens on them: timeline events, stage changes, promises,
disputes, hardship arrangements, collector call tasks and legal cases with their tasks."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from models.types import AwareDateTime, Money, utcnow


# A loan's collection case: opens the first day the loan is delinquent (DPD >= 1), closes on
# cure (nothing overdue), settlement or write-off. A loan that falls behind again gets a new case.
class CollectionCase(SQLModel, table=True):
    __tablename__ = "collection_case"
    __table_args__ = (UniqueConstraint("loan_id", "opened_on"), Index("ix_case_status_loan", "status", "loan_id"))

    id: int | None = Field(default=None, primary_key=True)
    loan_id: int = Field(foreign_key="loan.id")
    opened_on: date
    opened_stage: str = Field(max_length=16)
    stage: str = Field(max_length=16)  # the latest stage the daily run saw
    status: str = Field(default="open", max_length=12)  # open | closed
    closed_on: date | None = None
    close_reason: str | None = Field(default=None, max_length=16)  # cured | settled | written_off
    created_at: datetime = Field(default_factory=utcnow, sa_type=AwareDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=AwareDateTime)


# One line of a case's timeline. `key` makes the writers idempotent (a re-run appends nothing).
class CaseEvent(SQLModel, table=True):
    __tablename__ = "case_event"
    __table_args__ = (Index("ix_case_event_loan_at", "loan_id", "at"),)

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(unique=True, max_length=200)
    loan_id: int = Field(foreign_key="loan.id")
    case_id: int | None = Field(default=None, foreign_key="collection_case.id")
    as_of: date
    at: datetime = Field(sa_type=AwareDateTime)
    kind: str = Field(max_length=24)
    actor: str = Field(max_length=64)  # system | a collector | an operator
    source: str = Field(max_length=64)  # daily-run | cli | import:<file> | call:<task>
    detail: str = Field(default="", sa_type=Text)  # human text, personal data masked


# The day a loan moved between buckets (roll rates are read from here).
class StageChange(SQLModel, table=True):
    __tablename__ = "stage_change"

    as_of: date = Field(primary_key=True)
    loan_id: int = Field(primary_key=True, foreign_key="loan.id")
    from_stage: str | None = Field(default=None, max_length=16)  # None: first position seen
    to_stage: str = Field(max_length=16)
    dpd: int


# A promise to pay (承诺还款). Judged the day after `promised_on` from the payments made from
# `made_on` through `promised_on`: kept, partly_kept or broken. A newer promise supersedes an open one.
class Promise(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("loan_id", "made_on", "promised_on"), Index("ix_promise_status", "status"))

    id: int | None = Field(default=None, primary_key=True)
    loan_id: int = Field(foreign_key="loan.id", index=True)
    amount: Decimal = Field(sa_type=Money)
    made_on: date
    promised_on: date
    status: str = Field(default="open", max_length=12)  # open | kept | partly_kept | broken | superseded | cancelled
    paid: Decimal | None = Field(default=None, sa_type=Money)
    judged_on: date | None = None
    actor: str = Field(max_length=64)
    source: str = Field(max_length=64)
    note: str = Field(default="", sa_type=Text)
    created_at: datetime = Field(default_factory=utcnow, sa_type=AwareDateTime)


# A dispute (异议): holds every contact and escalation on the loan until resolved.
class Dispute(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    loan_id: int = Field(foreign_key="loan.id", index=True)
    opened_on: date
    reply_by: date  # policy disputes.reply_days after opening
    reason: str = Field(sa_type=Text)
    status: str = Field(default="open", max_length=12)  # open | upheld | rejected
    resolved_on: date | None = None
    actor: str = Field(max_length=64)
    resolution_note: str = Field(default="", sa_type=Text)
    created_at: datetime = Field(default_factory=utcnow, sa_type=AwareDateTime)


# A hardship arrangement: a repayment plan replacing the remaining schedule, or a waiver.
class Hardship(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    loan_id: int = Field(foreign_key="loan.id", index=True)
    kind: str = Field(max_length=8)  # plan | waiver
    effective_on: date
    approver: str = Field(max_length=64)
    reason: str = Field(sa_type=Text)
    waive_penalty: Decimal = Field(default=Decimal(0), sa_type=Money)  # waiver only: upper limits
    waive_interest: Decimal = Field(default=Decimal(0), sa_type=Money)
    waive_fees: Decimal = Field(default=Decimal(0), sa_type=Money)
    status: str = Field(default="active", max_length=12)  # active | revoked
    created_at: datetime = Field(default_factory=utcnow, sa_type=AwareDateTime)


class HardshipInstallment(SQLModel, table=True):
    __tablename__ = "hardship_installment"

    hardship_id: int = Field(primary_key=True, foreign_key="hardship.id")
    seq: int = Field(primary_key=True)
    due_date: date
    principal_due: Decimal = Field(sa_type=Money)
    interest_due: Decimal = Field(sa_type=Money)
    fee_due: Decimal = Field(default=Decimal(0), sa_type=Money)


# A phone call for a collector to make; `key` is the planned call_task action's key.
class CallTask(SQLModel, table=True):
    __tablename__ = "call_task"
    __table_args__ = (Index("ix_call_task_as_of_collector", "as_of", "collector"),)

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(unique=True, max_length=200)
    as_of: date
    loan_id: int = Field(foreign_key="loan.id", index=True)
    borrower_id: str = Field(foreign_key="borrower.borrower_id", max_length=64)
    collector: str = Field(max_length=64)
    rank: int  # order in the collector's queue for the day (1 = first)
    stage: str = Field(max_length=16)
    risk: str = Field(max_length=8)
    dpd: int
    overdue_total: Decimal = Field(sa_type=Money)
    template: str = Field(max_length=64)
    status: str = Field(default="open", max_length=12)  # open | done | cancelled
    outcome: str | None = Field(default=None, max_length=16)
    note: str = Field(default="", sa_type=Text)
    reason: str | None = Field(default=None, max_length=200)  # why cancelled
    logged_at: datetime | None = Field(default=None, sa_type=AwareDateTime)
    call_from: datetime | None = Field(default=None, sa_type=AwareDateTime)  # the guard's earliest allowed moment
    arm: str | None = Field(default=None, max_length=32)  # the experiment arm of its action
    created_at: datetime = Field(default_factory=utcnow, sa_type=AwareDateTime)


# Legal work on a case (律师函 -> 仲裁/诉讼 -> 强制执行); one per collection case.
class LegalCase(SQLModel, table=True):
    __tablename__ = "legal_case"

    id: int | None = Field(default=None, primary_key=True)
    reference: str = Field(unique=True, max_length=40)
    case_id: int = Field(unique=True, foreign_key="collection_case.id")
    loan_id: int = Field(foreign_key="loan.id", index=True)
    opened_on: date
    rule: str = Field(max_length=64)  # the escalation rule that fired
    track: str = Field(max_length=12)  # arbitration | litigation
    overdue_total: Decimal = Field(sa_type=Money)  # at escalation
    status: str = Field(default="open", max_length=12)  # open | closed | cancelled
    closed_on: date | None = None
    close_reason: str | None = Field(default=None, sa_type=Text)
    created_at: datetime = Field(default_factory=utcnow, sa_type=AwareDateTime)


class LegalTask(SQLModel, table=True):
    __tablename__ = "legal_task"
    __table_args__ = (UniqueConstraint("legal_case_id", "seq"), Index("ix_legal_task_status_due", "status", "due_on"))

    id: int | None = Field(default=None, primary_key=True)
    legal_case_id: int = Field(foreign_key="legal_case.id")
    seq: int
    kind: str = Field(max_length=20)  # lawyers_letter | arbitration | litigation | enforcement
    owner: str = Field(max_length=120)
    due_on: date
    status: str = Field(default="open", max_length=12)  # open | in_progress | done | cancelled
    outcome: str = Field(default="", sa_type=Text)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=AwareDateTime)
