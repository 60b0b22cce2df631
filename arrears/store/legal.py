"""Legal cases in the database: escalation candidates, the case and its chain of tasks."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, bindparam, insert, select, text, update
from sqlalchemy.dialects import postgresql, sqlite

from arrears.cases.escalation import EscalationView, LegalStep, legal_reference
from arrears.cases.evidence import EvidenceRows
from arrears.money import from_cents
from arrears.store import DAY, rows_on
from arrears.store.cases import add_event, timeline
from arrears.store.disputes import OPEN_ON_DAY, disputes_of
from arrears.store.hardship import hardships_of
from arrears.store.promises import promises_of
from models import Borrower, CaseEvent, Installment, LegalCase, LegalTask, Loan, Payment

LC = LegalCase.__table__  # type: ignore[attr-defined]
LT = LegalTask.__table__  # type: ignore[attr-defined]
CE = CaseEvent.__table__  # type: ignore[attr-defined]
BT = Borrower.__table__  # type: ignore[attr-defined]
LN = Loan.__table__  # type: ignore[attr-defined]
IT = Installment.__table__  # type: ignore[attr-defined]
PT = Payment.__table__  # type: ignore[attr-defined]
CHUNK = 500
TASK_STATUSES = ("open", "in_progress", "done", "cancelled")


class LegalError(ValueError):
    pass


def escalation_candidates(
    conn: Connection, as_of: date, broken: Sequence[str]
) -> tuple[list[EscalationView], dict[int, str]]:
    """Delinquent loans with an open case and no legal case for it, not held by a dispute or
    an open promise, with their promises judged as one of ``broken``; and the day's planned
    ``legal`` strategy actions (loan id -> action)."""
    rows = conn.execute(
        text(
            "SELECT p.loan_id, l.loan_no, c.id AS case_id, p.stage, p.dpd, p.overdue_total, l.product, l.currency,"
            " (SELECT COUNT(*) FROM promise pr WHERE pr.loan_id = p.loan_id AND pr.promised_on < :d"
            "   AND pr.status IN :broken) AS broken"
            " FROM position p JOIN collection_case c ON c.loan_id = p.loan_id AND c.status = 'open'"
            " JOIN loan l ON l.id = p.loan_id"
            " WHERE p.as_of = :d AND p.dpd > 0"
            " AND NOT EXISTS (SELECT 1 FROM legal_case g WHERE g.case_id = c.id)"
            f" AND NOT EXISTS (SELECT 1 FROM dispute d WHERE d.loan_id = p.loan_id AND {OPEN_ON_DAY})"
            " AND NOT EXISTS (SELECT 1 FROM promise pr WHERE pr.loan_id = p.loan_id AND pr.made_on <= :d"
            "   AND pr.promised_on >= :d AND pr.status NOT IN ('superseded', 'cancelled'))"
            " ORDER BY p.loan_id"
        ).bindparams(DAY, bindparam("broken", expanding=True)),
        {"d": as_of, "broken": list(broken)},
    )
    views = [
        EscalationView(
            r.loan_id, r.loan_no, r.case_id, r.stage, r.dpd, from_cents(r.overdue_total), int(r.broken), r.product,
            r.currency,
        )
        for r in rows
    ]
    planned = dict(
        conn.execute(
            text(
                "SELECT loan_id, action FROM collection_action WHERE as_of = :d AND channel = 'legal'"
                " AND status = 'planned'"
            ).bindparams(DAY),
            {"d": as_of},
        ).all()
    )
    return views, planned  # type: ignore[return-value]


@dataclass(frozen=True)
class NewLegalCase:
    view: EscalationView
    rule: str
    track: str
    steps: list[LegalStep]


def open_legal_cases(conn: Connection, new: Sequence[NewLegalCase], as_of: date, now: datetime) -> list[str]:
    """Create legal cases with their tasks and timeline events, in slices of set-based inserts.
    A collection case that already has a legal case gets none (``case_id`` is unique)."""
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    created: list[str] = []
    for i in range(0, len(new), CHUNK):
        part = {n.view.case_id: n for n in new[i : i + CHUNK]}
        rows = [
            {
                "reference": legal_reference(n.view.loan_no, as_of),
                "case_id": n.view.case_id,
                "loan_id": n.view.loan_id,
                "opened_on": as_of,
                "rule": n.rule,
                "track": n.track,
                "overdue_total": n.view.overdue_total,
                "status": "open",
                "created_at": now,
            }
            for n in part.values()
        ]
        stmt = dialect.insert(LC).values(rows).on_conflict_do_nothing(index_elements=["case_id"])
        ids = conn.execute(stmt.returning(LC.c.id, LC.c.case_id, LC.c.reference)).all()
        if not ids:
            continue
        conn.execute(
            insert(LT),
            [
                {
                    "legal_case_id": legal_id,
                    "seq": s.seq,
                    "kind": s.kind,
                    "owner": s.owner,
                    "due_on": s.due_on,
                    "status": "open",
                    "outcome": "",
                    "updated_at": now,
                }
                for legal_id, case_id, _ in ids
                for s in part[case_id].steps
            ],
        )
        events = []
        for _, case_id, reference in ids:
            n = part[case_id]
            chain = " -> ".join(f"{s.kind} ({s.owner}, due {s.due_on})" for s in n.steps)
            why = f"by rule {n.rule} at DPD {n.view.dpd}, overdue {n.view.overdue_total}"
            events.append(
                {
                    "key": f"legal:{reference}:opened",
                    "loan_id": n.view.loan_id,
                    "case_id": case_id,
                    "as_of": as_of,
                    "at": now,
                    "kind": "escalated",
                    "actor": "system",
                    "source": "daily-run",
                    "detail": f"{reference} {why}: {chain}",
                }
            )
            created.append(reference)
        conn.execute(dialect.insert(CE).values(events).on_conflict_do_nothing(index_elements=["key"]))
    return sorted(created)


def legal_cases(conn: Connection, status: str | None = None) -> list[Any]:
    q = (
        "SELECT g.id, g.reference, g.opened_on, g.rule, g.track, g.overdue_total, g.status, g.close_reason,"
        " l.loan_no, l.currency,"
        " (SELECT t.kind || ' (' || t.owner || ', due ' || t.due_on || ')' FROM legal_task t"
        "   WHERE t.legal_case_id = g.id AND t.status IN ('open', 'in_progress') ORDER BY t.seq LIMIT 1) AS next_task"
        " FROM legal_case g JOIN loan l ON l.id = g.loan_id"
    )
    params: dict[str, Any] = {}
    if status:
        q += " WHERE g.status = :s"
        params["s"] = status
    return list(conn.execute(text(q + " ORDER BY g.opened_on, g.reference"), params))


def legal_case(conn: Connection, reference: str) -> tuple[Any, list[Any]]:
    case = conn.execute(select(LC).where(LC.c.reference == reference)).first()
    if case is None:
        raise LegalError(f"no legal case {reference!r}")
    tasks = list(conn.execute(select(LT).where(LT.c.legal_case_id == case.id).order_by(LT.c.seq)))
    return case, tasks


def update_task(
    conn: Connection,
    reference: str,
    kind: str,
    *,
    status: str | None,
    outcome: str | None,
    owner: str | None,
    as_of: date,
    now: datetime,
    actor: str,
) -> None:
    """Move a legal task on (status, outcome, owner); recorded on the case timeline."""
    case, tasks = legal_case(conn, reference)
    task = next((t for t in tasks if t.kind == kind), None)
    if task is None:
        raise LegalError(f"{reference} has no {kind} task (tasks: {', '.join(t.kind for t in tasks)})")
    if status is not None and status not in TASK_STATUSES:
        raise LegalError(f"status must be one of {', '.join(TASK_STATUSES)}")
    values: dict[str, Any] = {"updated_at": now}
    if status:
        values["status"] = status
    if outcome is not None:
        values["outcome"] = outcome
    if owner:
        values["owner"] = owner
    conn.execute(update(LT).where(LT.c.id == task.id).values(**values))
    if status in ("done", "cancelled") and all(t.status in ("done", "cancelled") or t.id == task.id for t in tasks):
        conn.execute(
            update(LC)
            .where(LC.c.id == case.id)
            .values(status="closed", closed_on=as_of, close_reason=outcome or status)
        )
    changes = ", ".join(f"{k} {v}" for k, v in values.items() if k != "updated_at")
    add_event(
        conn,
        key=f"legal:{reference}:{kind}:{now.isoformat()}",
        loan_id=case.loan_id,
        as_of=as_of,
        at=now,
        kind="legal_task",
        actor=actor,
        source="cli",
        detail=f"{reference} {kind}: {changes}",
    )


def overdue_legal_tasks(conn: Connection, as_of: date) -> list[Any]:
    sql = (
        "SELECT g.reference, t.kind, t.owner, t.due_on, t.status FROM legal_task t"
        " JOIN legal_case g ON g.id = t.legal_case_id"
        " WHERE t.status IN ('open', 'in_progress') AND t.due_on < :d ORDER BY t.due_on, g.reference"
    )
    return rows_on(conn, sql, as_of)


def opened_on_day(conn: Connection, as_of: date) -> list[Any]:
    sql = (
        "SELECT g.reference, g.rule, l.loan_no, g.overdue_total, l.currency,"
        " (SELECT t.owner FROM legal_task t WHERE t.legal_case_id = g.id ORDER BY t.seq LIMIT 1) AS owner"
        " FROM legal_case g JOIN loan l ON l.id = g.loan_id WHERE g.opened_on = :d ORDER BY g.reference"
    )
    return rows_on(conn, sql, as_of)


def has_open_legal_case(conn: Connection, loan_id: int) -> bool:
    found = conn.execute(text("SELECT 1 FROM legal_case WHERE loan_id = :l AND status = 'open'"), {"l": loan_id})
    return found.first() is not None


def _of_loan(conn: Connection, sql: str, loan_id: int) -> list[Any]:
    return list(conn.execute(text(sql), {"l": loan_id}))


def evidence_rows(conn: Connection, reference: str) -> EvidenceRows:
    """Everything the evidence pack of a legal case states, as stored."""
    case, tasks = legal_case(conn, reference)
    loan = conn.execute(select(LN).where(LN.c.id == case.loan_id)).one()
    return EvidenceRows(
        case=case,
        tasks=tasks,
        loan=loan,
        borrower=conn.execute(select(BT).where(BT.c.borrower_id == loan.borrower_id)).one(),
        position=conn.execute(
            text("SELECT * FROM position WHERE loan_id = :l ORDER BY as_of DESC LIMIT 1"), {"l": loan.id}
        ).first(),
        schedule=list(conn.execute(select(IT).where(IT.c.loan_id == loan.id).order_by(IT.c.seq))),
        payments=list(
            conn.execute(select(PT).where(PT.c.loan_id == loan.id).order_by(PT.c.paid_on, PT.c.reference))
        ),
        contacts=_of_loan(
            conn,
            "SELECT as_of, channel, template, recipient, status, reason, provider_id, error_code, sent_at,"
            " delivered_at FROM outbox_message WHERE loan_id = :l ORDER BY as_of, id",
            loan.id,
        ),
        letters=_of_loan(
            conn,
            "SELECT as_of, reference, template, status, total, deadline, sha256, path, pages, print_batch"
            " FROM letter WHERE loan_id = :l ORDER BY as_of, reference",
            loan.id,
        ),
        calls=_of_loan(
            conn,
            "SELECT as_of, collector, status, outcome, note, logged_at FROM call_task WHERE loan_id = :l"
            " ORDER BY as_of, id",
            loan.id,
        ),
        promises=promises_of(conn, loan.id),
        disputes=disputes_of(conn, loan.id),
        hardship=hardships_of(conn, loan.id),
        timeline=timeline(conn, loan.id),
    )
