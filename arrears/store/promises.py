"""Promises to pay in the database: recorded (one open promise per loan), read for planning,
risk and escalation, and judged rows written back. The verdicts themselves are rules
(``arrears.cases.promises``): the promises step applies them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, Date, bindparam, insert, select, text, update

from arrears.cases.promises import OPEN, SUPERSEDED, PromiseError
from arrears.money import from_cents
from arrears.planning import PromiseView
from arrears.store import DAY, as_date, rows_on
from arrears.store.cases import add_event
from arrears.store.loans import bump_versions
from models import Promise

PR = Promise.__table__  # type: ignore[attr-defined]
LIVE = "p.status NOT IN ('superseded', 'cancelled')"  # a promise that still counts on its days


@dataclass(frozen=True)
class NewPromise:
    """A promise as it is told: on a loan, an amount by a date, made on a day, by whom and from where."""

    loan_id: int
    amount: Decimal
    made_on: date
    promised_on: date
    actor: str
    source: str  # cli | import:<file> | call:<task id>
    note: str = ""


def add_promise(conn: Connection, promise: NewPromise, now: datetime) -> tuple[int, bool]:
    """Record a promise; an open promise made earlier is superseded. Returns (id, new):
    the same promise recorded twice (same loan, made and promised dates) is not new."""
    loan_id, amount, made_on, promised_on = promise.loan_id, promise.amount, promise.made_on, promise.promised_on
    actor, source, note = promise.actor, promise.source, promise.note
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
            loan_id=loan_id, amount=amount, made_on=made_on, promised_on=promised_on,
            status=OPEN if newer is None else SUPERSEDED, actor=actor, source=source, note=note, created_at=now,
        )
        .returning(PR.c.id)
    ).scalar_one()  # fmt: skip
    detail = f"promised {amount} by {promised_on}" + (" (supersedes the open promise)" if superseded else "")
    if newer is not None:
        detail += " (recorded as superseded: a later promise is open)"
    add_event(
        conn, key=f"promise:{promise_id}:made", loan_id=loan_id, as_of=made_on, at=now, kind="promise",
        actor=actor, source=source, detail=detail + (f"; {note}" if note else ""),
    )  # fmt: skip
    return int(promise_id), True


def promises_due(conn: Connection, as_of: date) -> list[Any]:
    """Open promises whose date has passed (the day after the promised date, they are judged)."""
    return list(
        conn.execute(
            select(PR.c.id, PR.c.loan_id, PR.c.amount, PR.c.made_on, PR.c.promised_on).where(
                PR.c.status == OPEN, PR.c.promised_on < bindparam("d", as_of, type_=Date())
            )
        )
    )


def paid_between(conn: Connection, loan_id: int, first: date, last: date) -> Decimal:
    """What the loan's payments from ``first`` through ``last`` add up to."""
    cents = conn.execute(
        text(
            "SELECT COALESCE(SUM(amount), 0) FROM payment WHERE loan_id = :l AND paid_on >= :a AND paid_on <= :b"
        ).bindparams(bindparam("a", type_=Date()), bindparam("b", type_=Date())),
        {"l": loan_id, "a": first, "b": last},
    ).scalar()
    return from_cents(int(cents or 0))


def record_verdict(
    conn: Connection, promise: Any, verdict: str, paid: Decimal, judged_on: date, now: datetime
) -> None:
    """Write a promise's verdict and put it on the loan's timeline."""
    conn.execute(update(PR).where(PR.c.id == promise.id).values(status=verdict, paid=paid, judged_on=judged_on))
    bump_versions(conn, [promise.loan_id])  # a broken promise weighs on the risk grade
    add_event(
        conn, key=f"promise:{promise.id}:judged", loan_id=promise.loan_id, as_of=judged_on, at=now,
        kind=f"promise_{verdict}", actor="system", source="daily-run",
        detail=f"promised {promise.amount} by {as_date(promise.promised_on)}, paid {paid}",
    )  # fmt: skip


def broken_promise_counts(
    conn: Connection, first_loan_id: int, last_loan_id: int, as_of: date, statuses: Sequence[str]
) -> dict[int, int]:
    """Loan id -> promises judged with one of ``statuses`` (what counts as broken) before ``as_of``."""
    rows = conn.execute(
        text(
            "SELECT loan_id, COUNT(*) FROM promise WHERE loan_id BETWEEN :lo AND :hi AND promised_on < :d"
            " AND status IN :statuses GROUP BY loan_id"
        ).bindparams(DAY, bindparam("statuses", expanding=True)),
        {"lo": first_loan_id, "hi": last_loan_id, "d": as_of, "statuses": list(statuses)},
    )
    return {int(loan_id): int(n) for loan_id, n in rows}


def open_promises(conn: Connection, as_of: date, first_borrower: str, last_borrower: str) -> dict[int, PromiseView]:
    """Loan id -> the promise whose window (made on .. promised date) covers ``as_of``."""
    sql = (
        "SELECT p.loan_id, p.made_on, p.promised_on, p.status FROM promise p JOIN loan l ON l.id = p.loan_id"
        f" WHERE l.borrower_id BETWEEN :lo AND :hi AND p.made_on <= :d AND p.promised_on >= :d AND {LIVE}"
    )
    rows = rows_on(conn, sql, as_of, lo=first_borrower, hi=last_borrower)
    return {r.loan_id: PromiseView(r.loan_id, as_date(r.made_on), as_date(r.promised_on), r.status) for r in rows}


def promises_of(conn: Connection, loan_id: int) -> list[Any]:
    return list(conn.execute(select(PR).where(PR.c.loan_id == loan_id).order_by(PR.c.made_on, PR.c.id)))


def promise_list(conn: Connection, status: str | None = None) -> list[Any]:
    """Promises with their loan number, newest first (``arrears ptp list``)."""
    q = (
        "SELECT p.id, l.loan_no, p.amount, p.made_on, p.promised_on, p.status, p.paid, p.actor FROM promise p"
        " JOIN loan l ON l.id = p.loan_id" + (" WHERE p.status = :s" if status else "") + " ORDER BY p.id DESC"
    )
    return list(conn.execute(text(q), {"s": status}))


def credit_open_promise(conn: Connection, loan_id: int, today: date, now: datetime) -> str | None:
    """A payment has just arrived: the loan's open promise (made on or before ``today``) is kept as
    soon as what was paid since it was made reaches its amount — its reminder is no longer due.
    Returns "kept" when it was, else None (partial payments wait for the judgement after the date)."""
    promise = conn.execute(
        select(PR.c.id, PR.c.loan_id, PR.c.amount, PR.c.made_on, PR.c.promised_on).where(
            PR.c.loan_id == loan_id, PR.c.status == OPEN, PR.c.made_on <= bindparam("d", today, type_=Date())
        )
    ).first()
    if promise is None:
        return None
    paid = paid_between(conn, loan_id, as_date(promise.made_on), today)
    if paid < promise.amount:
        return None
    record_verdict(conn, promise, "kept", paid, today, now)
    return "kept"
