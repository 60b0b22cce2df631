"""Loans (借款合同), their installment schedule (还款计划) and payments (还款记录)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlmodel import Field, SQLModel

from models.types import Money, Rate


class LoanBase(SQLModel):
    loan_no: str = Field(unique=True, max_length=64)  # 合同编号
    borrower_id: str = Field(foreign_key="borrower.borrower_id", index=True, max_length=64)
    product: str = Field(max_length=64)
    currency: str = Field(max_length=3)
    principal: Decimal = Field(sa_type=Money)
    annual_rate: Decimal = Field(sa_type=Rate)
    penalty_rate_daily: Decimal = Field(sa_type=Rate)  # 罚息利率, per day, on overdue principal
    late_fee: Decimal = Field(sa_type=Money)  # 滞纳金, once per installment past grace
    grace_days: int = 0
    contract_date: date
    secured: bool = False  # collateral (抵押物) or guarantor (担保人)


# The stored loan; `id` is internal and gives the batches their ranges. `input_version` moves on
# whenever what its position is computed from changes (schedule, terms, a payment, a hardship
# arrangement, a promise judged): an incremental day recomputes a loan whose version moved.
class Loan(LoanBase, table=True):
    id: int | None = Field(default=None, primary_key=True)
    input_version: int = Field(default=0, sa_column_kwargs={"server_default": "0"})


# One scheduled installment, keyed (loan, seq).
class Installment(SQLModel, table=True):
    loan_id: int = Field(foreign_key="loan.id", primary_key=True)
    seq: int = Field(primary_key=True)
    due_date: date
    principal_due: Decimal = Field(sa_type=Money)
    interest_due: Decimal = Field(sa_type=Money)
    fee_due: Decimal = Field(default=Decimal(0), sa_type=Money)


# One payment received, keyed by the lender's payment reference.
class Payment(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    reference: str = Field(unique=True, max_length=64)
    loan_id: int = Field(foreign_key="loan.id", index=True)
    paid_on: date
    amount: Decimal = Field(sa_type=Money)
