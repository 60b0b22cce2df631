"""Collector call queues in the database: the day's planned calls become call tasks."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, func, select, text, update
from sqlalchemy.dialects import postgresql, sqlite

from arrears.cases.calls import OUTCOMES, CallCandidate, QueuedCall
from arrears.money import from_cents
from arrears.store import DAY, as_moment
from arrears.store.actions import PLANNED_WITH_POSITION
from arrears.store.cases import add_event
from arrears.store.guard import record_conversation
from models import CallTask

CT = CallTask.__table__  # type: ignore[attr-defined]


CONVERSATIONS = ("reached", "ptp", "dispute", "refused")  # the borrower was on the line


class CallError(ValueError):
    pass


def calls_to_queue(conn: Connection, as_of: date) -> list[CallCandidate]:
    """The day's planned call actions that have no call task yet. A borrower without a phone
    number gets none: the action is recorded as suppressed, reason ``no phone number``."""
    conn.execute(
        text(
            "UPDATE collection_action SET status = 'suppressed', reason = 'no phone number'"
            " WHERE as_of = :d AND channel = 'call_task' AND status = 'planned'"
            " AND borrower_id IN (SELECT borrower_id FROM borrower WHERE phone IS NULL OR phone = '')"
        ).bindparams(DAY),
        {"d": as_of},
    )
    rows = conn.execute(
        text(
            "SELECT a.key, a.loan_id, l.loan_no, a.borrower_id, b.address, p.stage, p.risk, p.dpd, p.overdue_total,"
            " a.template, a.not_before"
            + PLANNED_WITH_POSITION
            + " LEFT JOIN call_task k ON k.key = a.key"
            " WHERE a.as_of = :d AND a.channel = 'call_task' AND a.status = 'planned' AND k.id IS NULL"
            " ORDER BY a.key"
        ).bindparams(DAY),
        {"d": as_of},
    )
    return [
        CallCandidate(
            r.key,
            r.loan_id,
            r.loan_no,
            r.borrower_id,
            r.address or "",
            r.stage,
            r.risk,
            r.dpd,
            from_cents(r.overdue_total),
            r.template,
            as_moment(r.not_before),
        )
        for r in rows
    ]


def queued_per_collector(conn: Connection, as_of: date) -> dict[str, int]:
    rows = conn.execute(select(CT.c.collector, func.count()).where(CT.c.as_of == as_of).group_by(CT.c.collector))
    return {c: int(n) for c, n in rows}


def insert_calls(conn: Connection, as_of: date, calls: Sequence[QueuedCall], now: datetime) -> int:
    if not calls:
        return 0
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    rows = [
        {
            "key": q.call.key,
            "as_of": as_of,
            "loan_id": q.call.loan_id,
            "borrower_id": q.call.borrower_id,
            "collector": q.collector,
            "rank": q.rank,
            "stage": q.call.stage,
            "risk": q.call.risk,
            "dpd": q.call.dpd,
            "overdue_total": q.call.overdue_total,
            "template": q.call.template,
            "call_from": q.call.call_from,
            "status": "open",
            "note": "",
            "created_at": now,
        }
        for q in calls
    ]
    new = 0
    for i in range(0, len(rows), 500):
        stmt = dialect.insert(CT).values(rows[i : i + 500]).on_conflict_do_nothing(index_elements=["key"])
        new += len(conn.execute(stmt.returning(CT.c.key)).all())  # rowcount is -1 on PostgreSQL here
    return new


def call_list(conn: Connection, as_of: date, collector: str | None = None) -> list[Any]:
    """The day's call tasks in queue order, with what a collector needs to see (masked phone)."""
    q = (
        "SELECT k.id, k.key, k.collector, k.rank, k.stage, k.risk, k.dpd, k.overdue_total, k.template, k.status,"
        " k.outcome, k.note, l.loan_no, l.currency, b.name, b.phone, b.locale"
        " FROM call_task k JOIN loan l ON l.id = k.loan_id JOIN borrower b ON b.borrower_id = k.borrower_id"
        " WHERE k.as_of = :d"
    )
    params: dict[str, Any] = {"d": as_of}
    if collector:
        q += " AND k.collector = :c"
        params["c"] = collector
    return list(conn.execute(text(q + " ORDER BY k.collector, k.rank").bindparams(DAY), params))


def log_call(
    conn: Connection, task_id: int, outcome: str, note: str, *, now: datetime, actor: str | None = None
) -> Any:
    """Record a call's outcome on its task and on the case timeline; returns the task row."""
    if outcome not in OUTCOMES:
        raise CallError(f"outcome must be one of {', '.join(OUTCOMES)}, not {outcome!r}")
    task = conn.execute(select(CT).where(CT.c.id == task_id)).first()
    if task is None:
        raise CallError(f"no call task {task_id}")
    if task.status == "cancelled":
        raise CallError(f"call task {task_id} was cancelled ({task.reason}); it must not be made")
    conn.execute(update(CT).where(CT.c.id == task_id).values(status="done", outcome=outcome, note=note, logged_at=now))
    add_event(
        conn,
        key=f"call:{task_id}:{outcome}:{now.isoformat()}",
        loan_id=task.loan_id,
        as_of=task.as_of,
        at=now,
        kind="call",
        actor=actor or task.collector,
        source=f"call:{task_id}",
        detail=f"{outcome}" + (f": {note}" if note else ""),
    )
    if outcome in CONVERSATIONS:  # the guard leaves the borrower in peace for the policy's gap
        record_conversation(conn, f"call:{task_id}", task.borrower_id, now, "call", f"call:{outcome}")
    return task


def call_counts(conn: Connection, as_of: date) -> dict[str, dict[str, int]]:
    """collector -> status -> calls of the day."""
    out: dict[str, dict[str, int]] = {}
    for collector, status, n in conn.execute(
        select(CT.c.collector, CT.c.status, func.count())
        .where(CT.c.as_of == as_of)
        .group_by(CT.c.collector, CT.c.status)
    ):
        out.setdefault(collector, {})[status] = int(n)
    return out
