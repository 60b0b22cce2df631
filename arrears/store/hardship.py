"""Hardship arrangements in the database: repayment plans (with their installments) and
waivers, each approved and on the loan's timeline; the engine applies them (see
``arrears.engine.hardship``) whenever the book is read on a day after them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, insert, select

from arrears.engine import Installment
from arrears.store.cases import add_event
from arrears.store.loans import bump_versions
from models import Hardship, HardshipInstallment

HS = Hardship.__table__  # type: ignore[attr-defined]
HI = HardshipInstallment.__table__  # type: ignore[attr-defined]


class HardshipError(ValueError):
    pass


@dataclass(frozen=True)
class WaiverLimits:
    penalty: Decimal = Decimal(0)
    interest: Decimal = Decimal(0)
    fees: Decimal = Decimal(0)


@dataclass(frozen=True)
class Approval:
    """Who approved a hardship arrangement, why, and where it was recorded from."""

    approver: str
    reason: str
    source: str

    def check(self, what: str) -> None:
        if not self.approver.strip() or not self.reason.strip():
            raise HardshipError(f"a {what} needs an approver and a reason")


def _record(
    conn: Connection, loan_id: int, kind: str, effective_on: date, approval: Approval, now: datetime, detail: str,
    **amounts: Decimal,
) -> int:  # fmt: skip
    """Insert the arrangement and put it on the loan's timeline; returns its id."""
    hardship_id = conn.execute(
        insert(HS)
        .values(
            loan_id=loan_id, kind=kind, effective_on=effective_on, approver=approval.approver,
            reason=approval.reason, status="active", created_at=now, **amounts,
        )
        .returning(HS.c.id)
    ).scalar_one()  # fmt: skip
    bump_versions(conn, [loan_id])  # and from its effective day the incremental days see it (store/book.py)
    add_event(
        conn, key=f"hardship:{hardship_id}", loan_id=loan_id, as_of=effective_on, at=now, kind=f"hardship_{kind}",
        actor=approval.approver, source=approval.source, detail=f"{detail}; {approval.reason}",
    )  # fmt: skip
    return int(hardship_id)


def add_repayment_plan(
    conn: Connection,
    loan_id: int,
    effective_on: date,
    installments: Sequence[Installment],
    *,
    approval: Approval,
    now: datetime,
) -> int:
    """A plan replacing the remaining schedule from ``effective_on`` (see arrears.engine.hardship)."""
    approval.check("repayment plan")
    if not installments:
        raise HardshipError("a repayment plan needs at least one installment")
    for i in installments:
        if i.due_date < effective_on:
            raise HardshipError(f"installment {i.seq} is due {i.due_date}, before the plan takes effect")
        if min(i.principal_due, i.interest_due, i.fee_due) < 0:
            raise HardshipError(f"installment {i.seq} has a negative amount")
    total = sum((i.principal_due + i.interest_due + i.fee_due for i in installments), Decimal(0))
    detail = f"repayment plan from {effective_on}: {len(installments)} installments, {total} in all"
    hardship_id = _record(conn, loan_id, "plan", effective_on, approval, now, detail)
    conn.execute(
        insert(HI),
        [
            {
                "hardship_id": hardship_id, "seq": i.seq, "due_date": i.due_date, "principal_due": i.principal_due,
                "interest_due": i.interest_due, "fee_due": i.fee_due,
            }
            for i in installments
        ],
    )  # fmt: skip
    return hardship_id


def add_waiver(
    conn: Connection, loan_id: int, effective_on: date, limits: WaiverLimits, *, approval: Approval, now: datetime
) -> int:
    approval.check("waiver")
    if min(limits.penalty, limits.interest, limits.fees) < 0 or not (limits.penalty or limits.interest or limits.fees):
        raise HardshipError("a waiver needs a positive amount of penalty, interest or fees")
    detail = (
        f"waiver from {effective_on}: up to penalty {limits.penalty}, interest {limits.interest}, fees {limits.fees}"
    )
    return _record(
        conn, loan_id, "waiver", effective_on, approval, now, detail,
        waive_penalty=limits.penalty, waive_interest=limits.interest, waive_fees=limits.fees,
    )  # fmt: skip


def hardships_of(conn: Connection, loan_id: int) -> list[Any]:
    return list(conn.execute(select(HS).where(HS.c.loan_id == loan_id).order_by(HS.c.effective_on, HS.c.id)))
