"""What the borrower says, in the database: promises to pay, disputes, hardship arrangements.

Each writer appends to the loan's timeline and stops what must stop at once (a dispute
holds pending contacts); the daily run reads them back for planning and the engine.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, Date, bindparam, insert, select, text, update

from arrears.cases.promises import OPEN, SUPERSEDED, PromiseError, broken_statuses, check_promise, judge
from arrears.engine import Installment
from arrears.money import from_cents
from arrears.planning import DISPUTE_HOLD, PromiseView
from arrears.store import DAY, as_date
from arrears.store.cases import add_event, cancel_pending
from models import Dispute, Hardship, HardshipInstallment, Promise

PR = Promise.__table__  # type: ignore[attr-defined]
DS = Dispute.__table__  # type: ignore[attr-defined]
HS = Hardship.__table__  # type: ignore[attr-defined]
HI = HardshipInstallment.__table__  # type: ignore[attr-defined]


class UnknownLoan(LookupError):
    pass


def loan_id_of(conn: Connection, loan_no: str) -> int:
    loan_id = conn.execute(text("SELECT id FROM loan WHERE loan_no = :n"), {"n": loan_no}).scalar()
    if loan_id is None:
        raise UnknownLoan(f"no loan {loan_no!r} in the book")
    return int(loan_id)


# --- promises -----------------------------------------------------------------------------


def add_promise(
    conn: Connection,
    loan_id: int,
    amount: Decimal,
    made_on: date,
    promised_on: date,
    *,
    now: datetime,
    actor: str,
    source: str,
    note: str = "",
) -> tuple[int, bool]:
    """Record a promise; an open promise made earlier is superseded. Returns (id, new):
    the same promise recorded twice (same loan, made and promised dates) is not new."""
    check_promise(amount, made_on, promised_on)
    existing = conn.execute(
        select(PR.c.id, PR.c.amount).where(
            PR.c.loan_id == loan_id, PR.c.made_on == made_on, PR.c.promised_on == promised_on
        )
    ).first()
    if existing is not None:
        if existing.amount != amount:
            raise PromiseError(
                f"a promise made on {made_on} for {promised_on} is already recorded with amount {existing.amount}"
            )
        return int(existing.id), False
    # one open promise per loan: the latest made supersedes the others (a backdated one,
    # e.g. from an old call-outcome file, is recorded already superseded)
    newer = conn.execute(
        select(PR.c.id).where(PR.c.loan_id == loan_id, PR.c.status == OPEN, PR.c.made_on > made_on)
    ).first()
    superseded = 0
    if newer is None:
        superseded = conn.execute(
            update(PR).where(PR.c.loan_id == loan_id, PR.c.status == OPEN).values(status=SUPERSEDED)
        ).rowcount
    promise_id = conn.execute(
        insert(PR)
        .values(
            loan_id=loan_id,
            amount=amount,
            made_on=made_on,
            promised_on=promised_on,
            status=OPEN if newer is None else SUPERSEDED,
            actor=actor,
            source=source,
            note=note,
            created_at=now,
        )
        .returning(PR.c.id)
    ).scalar_one()
    detail = f"promised {amount} by {promised_on}" + (" (supersedes the open promise)" if superseded else "")
    if newer is not None:
        detail += " (recorded as superseded: a later promise is open)"
    add_event(
        conn,
        key=f"promise:{promise_id}:made",
        loan_id=loan_id,
        as_of=made_on,
        at=now,
        kind="promise",
        actor=actor,
        source=source,
        detail=detail + (f"; {note}" if note else ""),
    )
    return int(promise_id), True


def judge_promises(conn: Connection, as_of: date, now: datetime) -> dict[str, int]:
    """Judge the open promises whose date has passed (the day after the promised date),
    from the payments made from the day of the promise through the promised date."""
    due = conn.execute(
        select(PR.c.id, PR.c.loan_id, PR.c.amount, PR.c.made_on, PR.c.promised_on).where(
            PR.c.status == OPEN, PR.c.promised_on < bindparam("d", as_of, type_=Date())
        )
    ).all()
    out: dict[str, int] = {}
    for p in due:
        paid = from_cents(
            conn.execute(
                text(
                    "SELECT COALESCE(SUM(amount), 0) FROM payment"
                    " WHERE loan_id = :l AND paid_on >= :a AND paid_on <= :b"
                ).bindparams(bindparam("a", type_=Date()), bindparam("b", type_=Date())),
                {"l": p.loan_id, "a": as_date(p.made_on), "b": as_date(p.promised_on)},
            ).scalar()
        )
        verdict = judge(p.amount, paid)
        judged_on = as_date(p.promised_on) + timedelta(days=1)
        conn.execute(update(PR).where(PR.c.id == p.id).values(status=verdict, paid=paid, judged_on=judged_on))
        add_event(
            conn,
            key=f"promise:{p.id}:judged",
            loan_id=p.loan_id,
            as_of=judged_on,
            at=now,
            kind=f"promise_{verdict}",
            actor="system",
            source="daily-run",
            detail=f"promised {p.amount} by {as_date(p.promised_on)}, paid {paid}",
        )
        out[verdict] = out.get(verdict, 0) + 1
    return out


def broken_promise_counts(
    conn: Connection, first_loan_id: int, last_loan_id: int, as_of: date, partial_counts_as_broken: bool
) -> dict[int, int]:
    """Loan id -> promises judged broken before ``as_of`` (for risk and escalation)."""
    statuses = broken_statuses(partial_counts_as_broken)
    rows = conn.execute(
        text(
            "SELECT loan_id, COUNT(*) FROM promise WHERE loan_id BETWEEN :lo AND :hi AND promised_on < :d"
            f" AND status IN ({', '.join(repr(s) for s in statuses)}) GROUP BY loan_id"
        ).bindparams(DAY),
        {"lo": first_loan_id, "hi": last_loan_id, "d": as_of},
    )
    return {int(loan_id): int(n) for loan_id, n in rows}


def open_promises(conn: Connection, as_of: date, first_borrower: str, last_borrower: str) -> dict[int, PromiseView]:
    """Loan id -> the promise whose window (made on .. promised date) covers ``as_of``."""
    rows = conn.execute(
        text(
            "SELECT p.loan_id, p.made_on, p.promised_on FROM promise p JOIN loan l ON l.id = p.loan_id"
            " WHERE l.borrower_id BETWEEN :lo AND :hi AND p.made_on <= :d AND p.promised_on >= :d"
            " AND p.status NOT IN ('superseded', 'cancelled')"
        ).bindparams(DAY),
        {"lo": first_borrower, "hi": last_borrower, "d": as_of},
    )
    return {r.loan_id: PromiseView(r.loan_id, as_date(r.made_on), as_date(r.promised_on)) for r in rows}


def promises_of(conn: Connection, loan_id: int) -> list[Any]:
    return list(conn.execute(select(PR).where(PR.c.loan_id == loan_id).order_by(PR.c.made_on, PR.c.id)))


# --- disputes -----------------------------------------------------------------------------


class DisputeError(ValueError):
    pass


def open_dispute(
    conn: Connection,
    loan_id: int,
    opened_on: date,
    reason: str,
    reply_days: int,
    *,
    now: datetime,
    actor: str,
    source: str,
) -> int:
    """Open a dispute: holds every contact and escalation on the loan until resolved.
    What is pending now (queued messages, unprinted letters, open calls) is held at once."""
    if not reason.strip():
        raise DisputeError("a dispute needs a reason")
    if conn.execute(select(DS.c.id).where(DS.c.loan_id == loan_id, DS.c.status == "open")).first():
        raise DisputeError("the loan already has an open dispute")
    reply_by = opened_on + timedelta(days=reply_days)
    dispute_id = conn.execute(
        insert(DS)
        .values(
            loan_id=loan_id,
            opened_on=opened_on,
            reply_by=reply_by,
            reason=reason,
            status="open",
            actor=actor,
            created_at=now,
        )
        .returning(DS.c.id)
    ).scalar_one()
    held = cancel_pending(conn, [loan_id], opened_on, now, DISPUTE_HOLD, legal=False, action_status="suppressed")
    add_event(
        conn,
        key=f"dispute:{dispute_id}:opened",
        loan_id=loan_id,
        as_of=opened_on,
        at=now,
        kind="dispute_opened",
        actor=actor,
        source=source,
        detail=f"{reason} (reply by {reply_by}; held: {held['messages']} messages, {held['letters']} letters, "
        f"{held['calls']} calls)",
    )
    return int(dispute_id)


def resolve_dispute(
    conn: Connection,
    loan_id: int,
    outcome: str,
    resolved_on: date,
    note: str,
    *,
    now: datetime,
    actor: str,
    source: str,
) -> int:
    if outcome not in ("upheld", "rejected"):
        raise DisputeError(f"outcome must be upheld or rejected, not {outcome!r}")
    row = conn.execute(select(DS.c.id).where(DS.c.loan_id == loan_id, DS.c.status == "open")).first()
    if row is None:
        raise DisputeError("the loan has no open dispute")
    conn.execute(
        update(DS).where(DS.c.id == row.id).values(status=outcome, resolved_on=resolved_on, resolution_note=note)
    )
    add_event(
        conn,
        key=f"dispute:{row.id}:resolved",
        loan_id=loan_id,
        as_of=resolved_on,
        at=now,
        kind="dispute_resolved",
        actor=actor,
        source=source,
        detail=f"{outcome}" + (f": {note}" if note else "") + "; contacts resume on the next run",
    )
    return int(row.id)


def disputed_loans(conn: Connection, as_of: date, first_borrower: str, last_borrower: str) -> set[int]:
    """Loans with a dispute open on ``as_of`` (opened by then, not resolved by then)."""
    rows = conn.execute(
        text(
            "SELECT d.loan_id FROM dispute d JOIN loan l ON l.id = d.loan_id"
            " WHERE l.borrower_id BETWEEN :lo AND :hi AND d.opened_on <= :d"
            " AND (d.resolved_on IS NULL OR d.resolved_on > :d)"
        ).bindparams(DAY),
        {"lo": first_borrower, "hi": last_borrower, "d": as_of},
    )
    return {int(r[0]) for r in rows}


def overdue_disputes(conn: Connection, as_of: date) -> list[Any]:
    """Disputes open on ``as_of`` past their reply date (as the day saw them, also when read later)."""
    return list(
        conn.execute(
            text(
                "SELECT l.loan_no, d.opened_on, d.reply_by, d.reason FROM dispute d JOIN loan l ON l.id = d.loan_id"
                " WHERE d.reply_by < :d AND (d.resolved_on IS NULL OR d.resolved_on > :d)"
                " ORDER BY d.reply_by, l.loan_no"
            ).bindparams(DAY),
            {"d": as_of},
        )
    )


def disputes_of(conn: Connection, loan_id: int) -> list[Any]:
    return list(conn.execute(select(DS).where(DS.c.loan_id == loan_id).order_by(DS.c.opened_on, DS.c.id)))


# --- hardship -----------------------------------------------------------------------------


class HardshipError(ValueError):
    pass


@dataclass(frozen=True)
class WaiverLimits:
    penalty: Decimal = Decimal(0)
    interest: Decimal = Decimal(0)
    fees: Decimal = Decimal(0)


def add_repayment_plan(
    conn: Connection,
    loan_id: int,
    effective_on: date,
    installments: Sequence[Installment],
    *,
    approver: str,
    reason: str,
    now: datetime,
    source: str,
) -> int:
    """A plan replacing the remaining schedule from ``effective_on`` (see arrears.engine.hardship)."""
    if not approver.strip() or not reason.strip():
        raise HardshipError("a repayment plan needs an approver and a reason")
    if not installments:
        raise HardshipError("a repayment plan needs at least one installment")
    for i in installments:
        if i.due_date < effective_on:
            raise HardshipError(f"installment {i.seq} is due {i.due_date}, before the plan takes effect")
        if min(i.principal_due, i.interest_due, i.fee_due) < 0:
            raise HardshipError(f"installment {i.seq} has a negative amount")
    hardship_id = conn.execute(
        insert(HS)
        .values(
            loan_id=loan_id,
            kind="plan",
            effective_on=effective_on,
            approver=approver,
            reason=reason,
            status="active",
            created_at=now,
        )
        .returning(HS.c.id)
    ).scalar_one()
    conn.execute(
        insert(HI),
        [
            {
                "hardship_id": hardship_id,
                "seq": i.seq,
                "due_date": i.due_date,
                "principal_due": i.principal_due,
                "interest_due": i.interest_due,
                "fee_due": i.fee_due,
            }
            for i in installments
        ],
    )
    total = sum((i.principal_due + i.interest_due + i.fee_due for i in installments), Decimal(0))
    add_event(
        conn,
        key=f"hardship:{hardship_id}",
        loan_id=loan_id,
        as_of=effective_on,
        at=now,
        kind="hardship_plan",
        actor=approver,
        source=source,
        detail=f"repayment plan from {effective_on}: {len(installments)} installments, {total} in all; {reason}",
    )
    return int(hardship_id)


def add_waiver(
    conn: Connection,
    loan_id: int,
    effective_on: date,
    limits: WaiverLimits,
    *,
    approver: str,
    reason: str,
    now: datetime,
    source: str,
) -> int:
    if not approver.strip() or not reason.strip():
        raise HardshipError("a waiver needs an approver and a reason")
    if min(limits.penalty, limits.interest, limits.fees) < 0 or not (limits.penalty or limits.interest or limits.fees):
        raise HardshipError("a waiver needs a positive amount of penalty, interest or fees")
    hardship_id = conn.execute(
        insert(HS)
        .values(
            loan_id=loan_id,
            kind="waiver",
            effective_on=effective_on,
            approver=approver,
            reason=reason,
            waive_penalty=limits.penalty,
            waive_interest=limits.interest,
            waive_fees=limits.fees,
            status="active",
            created_at=now,
        )
        .returning(HS.c.id)
    ).scalar_one()
    add_event(
        conn,
        key=f"hardship:{hardship_id}",
        loan_id=loan_id,
        as_of=effective_on,
        at=now,
        kind="hardship_waiver",
        actor=approver,
        source=source,
        detail=f"waiver from {effective_on}: up to penalty {limits.penalty}, interest {limits.interest}, "
        f"fees {limits.fees}; {reason}",
    )
    return int(hardship_id)


def hardships_of(conn: Connection, loan_id: int) -> list[Any]:
    return list(conn.execute(select(HS).where(HS.c.loan_id == loan_id).order_by(HS.c.effective_on, HS.c.id)))
