"""Disputes in the database: opening one holds what is pending on the loan at once; planning,
the guard and escalation read which loans are disputed on a day."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, insert, select, update

from arrears.planning import DISPUTE_HOLD
from arrears.store import rows_on
from arrears.store.cases import add_event, cancel_pending
from models import Dispute

DS = Dispute.__table__  # type: ignore[attr-defined]
OPEN_ON_DAY = "d.opened_on <= :d AND (d.resolved_on IS NULL OR d.resolved_on > :d)"  # open on day :d


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
            loan_id=loan_id, opened_on=opened_on, reply_by=reply_by, reason=reason, status="open", actor=actor,
            created_at=now,
        )
        .returning(DS.c.id)
    ).scalar_one()  # fmt: skip
    held = cancel_pending(conn, [loan_id], opened_on, now, DISPUTE_HOLD, legal=False, action_status="suppressed")
    add_event(
        conn, key=f"dispute:{dispute_id}:opened", loan_id=loan_id, as_of=opened_on, at=now, kind="dispute_opened",
        actor=actor, source=source,
        detail=f"{reason} (reply by {reply_by}; held: {held['messages']} messages, {held['letters']} letters, "
        f"{held['calls']} calls)",
    )  # fmt: skip
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
    detail = f"{outcome}" + (f": {note}" if note else "") + "; contacts resume on the next run"
    add_event(
        conn, key=f"dispute:{row.id}:resolved", loan_id=loan_id, as_of=resolved_on, at=now, kind="dispute_resolved",
        actor=actor, source=source, detail=detail,
    )  # fmt: skip
    return int(row.id)


def disputed_loans(conn: Connection, as_of: date, first_borrower: str, last_borrower: str) -> set[int]:
    """Loans with a dispute open on ``as_of`` (opened by then, not resolved by then)."""
    sql = (
        "SELECT d.loan_id FROM dispute d JOIN loan l ON l.id = d.loan_id"
        f" WHERE l.borrower_id BETWEEN :lo AND :hi AND {OPEN_ON_DAY}"
    )
    return {int(r[0]) for r in rows_on(conn, sql, as_of, lo=first_borrower, hi=last_borrower)}


def overdue_disputes(conn: Connection, as_of: date) -> list[Any]:
    """Disputes open on ``as_of`` past their reply date (as the day saw them, also when read later)."""
    sql = (
        "SELECT l.loan_no, d.opened_on, d.reply_by, d.reason FROM dispute d JOIN loan l ON l.id = d.loan_id"
        " WHERE d.reply_by < :d AND (d.resolved_on IS NULL OR d.resolved_on > :d) ORDER BY d.reply_by, l.loan_no"
    )
    return rows_on(conn, sql, as_of)


def disputes_of(conn: Connection, loan_id: int) -> list[Any]:
    return list(conn.execute(select(DS).where(DS.c.loan_id == loan_id).order_by(DS.c.opened_on, DS.c.id)))
