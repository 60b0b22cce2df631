"""A loan's standing on a day, as the engine computed it. One row per (as_of, loan)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import Index
from sqlmodel import Field, SQLModel

from models.types import Money


class Position(SQLModel, table=True):
    __table_args__ = (Index("ix_position_as_of_stage", "as_of", "stage"),)

    as_of: date = Field(primary_key=True)
    loan_id: int = Field(primary_key=True, foreign_key="loan.id")
    dpd: int
    stage: str = Field(max_length=16)
    risk: str = Field(max_length=8)
    overdue_principal: Decimal = Field(sa_type=Money)
    overdue_interest: Decimal = Field(sa_type=Money)
    overdue_penalty: Decimal = Field(sa_type=Money)
    overdue_fees: Decimal = Field(sa_type=Money)
    overdue_total: Decimal = Field(sa_type=Money)
    outstanding_principal: Decimal = Field(sa_type=Money)
    credit: Decimal = Field(sa_type=Money)
    times_late: int = 0
    next_due_date: date | None = None
    input_version: int = Field(default=0, sa_column_kwargs={"server_default": "0"})  # the loan's, when computed
