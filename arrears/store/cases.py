"""Collection cases in the database: open, follow stages, close on cure; the timeline.

Everything the daily run does here is set-based SQL keyed by day, so re-running a day
changes nothing, and a million-loan book costs a handful of statements.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, Date, bindparam, text
from sqlalchemy.dialects import postgresql, sqlite

from arrears.money import from_cents
from arrears.privacy import mask_recipient
from arrears.store import DAY, as_date
from models import CaseEvent

E = CaseEvent.__table__  # type: ignore[attr-defined]
CHUNK = 500


@dataclass(frozen=True)
class CaseDay:
    opened: int
    cured: list[int]  # loan ids whose case closed as cured on the day
    stage_changes: int


def prev_run_day(conn: Connection, as_of: date) -> date | None:
    value = conn.execute(
        text("SELECT MAX(as_of) FROM position WHERE as_of < :d").bindparams(DAY), {"d": as_of}
    ).scalar()
    return None if value is None else as_date(value)


def record_stage_changes(conn: Connection, as_of: date) -> int:
    """Replace the day's rows of ``stage_change``: each loan whose stage differs from the
    previous run day's (or that is seen delinquent for the first time)."""
    conn.execute(text("DELETE FROM stage_change WHERE as_of = :d").bindparams(DAY), {"d": as_of})
    prev = prev_run_day(conn, as_of)
    if prev is None:
        sql = (
            "INSERT INTO stage_change (as_of, loan_id, from_stage, to_stage, dpd)"
            " SELECT p.as_of, p.loan_id, NULL, p.stage, p.dpd FROM position p"
            " WHERE p.as_of = :d AND p.stage NOT IN ('current', 'pre_due')"
        )
        params: dict[str, Any] = {"d": as_of}
        stmt = text(sql).bindparams(DAY)
    else:
        sql = (
            "INSERT INTO stage_change (as_of, loan_id, from_stage, to_stage, dpd)"
            " SELECT p.as_of, p.loan_id, q.stage, p.stage, p.dpd FROM position p"
            " LEFT JOIN position q ON q.loan_id = p.loan_id AND q.as_of = :prev"
            " WHERE p.as_of = :d AND ((q.loan_id IS NULL AND p.stage NOT IN ('current', 'pre_due'))"
            " OR q.stage <> p.stage)"
        )
        params = {"d": as_of, "prev": prev}
        stmt = text(sql).bindparams(DAY, bindparam("prev", type_=Date()))
    return int(conn.execute(stmt, params).rowcount)


def track_cases(conn: Connection, as_of: date, now: datetime) -> CaseDay:
    """Open a case for each newly delinquent loan, follow stage changes, close cured cases."""
    changes = record_stage_changes(conn, as_of)
    p = {"d": as_of, "now": now, "day": as_of.isoformat()}
    opened = conn.execute(
        text(
            "INSERT INTO collection_case (loan_id, opened_on, opened_stage, stage, status, created_at, updated_at)"
            " SELECT p.loan_id, p.as_of, p.stage, p.stage, 'open', :now, :now FROM position p"
            " WHERE p.as_of = :d AND p.dpd > 0"
            " AND NOT EXISTS (SELECT 1 FROM collection_case c WHERE c.loan_id = p.loan_id"
            "   AND (c.status = 'open' OR c.opened_on = p.as_of))"
        ).bindparams(DAY),
        p,
    ).rowcount
    _events_from(
        conn,
        "SELECT 'case:' || c.id || ':' || 'opened' AS k, c.loan_id AS loan_id, c.id AS case_id, 'opened' AS kind,"
        " 'opened in ' || c.opened_stage || ' at DPD ' || p.dpd AS detail"
        " FROM collection_case c JOIN position p ON p.loan_id = c.loan_id AND p.as_of = c.opened_on"
        " WHERE c.opened_on = :d",
        p,
    )
    conn.execute(
        text(
            "UPDATE collection_case SET updated_at = :now, stage = (SELECT p.stage FROM position p"
            "   WHERE p.as_of = :d AND p.loan_id = collection_case.loan_id)"
            " WHERE status = 'open' AND EXISTS (SELECT 1 FROM position p WHERE p.as_of = :d"
            "   AND p.loan_id = collection_case.loan_id AND p.dpd > 0 AND p.stage <> collection_case.stage)"
        ).bindparams(DAY),
        p,
    )
    _events_from(
        conn,
        "SELECT 'stage:' || s.loan_id || ':' || :day AS k, s.loan_id AS loan_id, c.id AS case_id,"
        " 'stage_change' AS kind, s.from_stage || ' -> ' || s.to_stage || ' at DPD ' || s.dpd AS detail"
        " FROM stage_change s JOIN collection_case c ON c.loan_id = s.loan_id AND c.status = 'open'"
        " WHERE s.as_of = :d AND s.from_stage IS NOT NULL AND s.to_stage NOT IN ('current', 'pre_due')",
        p,
    )
    cured = [
        r.loan_id
        for r in conn.execute(
            text(
                "SELECT c.loan_id FROM collection_case c JOIN position p ON p.loan_id = c.loan_id AND p.as_of = :d"
                " WHERE c.status = 'open' AND p.dpd = 0 ORDER BY c.loan_id"
            ).bindparams(DAY),
            p,
        )
    ]
    close_cases(conn, cured, as_of, now, "cured", f"nothing overdue on {as_of}", actor="system", source="daily-run")
    return CaseDay(opened=int(opened), cured=cured, stage_changes=changes)


def _events_from(conn: Connection, select_sql: str, params: dict[str, Any]) -> int:
    """Append events from a SELECT of (k, loan_id, case_id, kind, detail); keys already there are skipped."""
    sql = (
        "INSERT INTO case_event (key, loan_id, case_id, as_of, at, kind, actor, source, detail)"
        " SELECT src.k, src.loan_id, src.case_id, :d, :now, src.kind, 'system', 'daily-run', src.detail"
        f" FROM ({select_sql}) AS src WHERE NOT EXISTS (SELECT 1 FROM case_event e WHERE e.key = src.k)"
    )
    return int(conn.execute(text(sql).bindparams(DAY), params).rowcount)


def add_event(
    conn: Connection,
    *,
    key: str,
    loan_id: int,
    as_of: date,
    at: datetime,
    kind: str,
    actor: str,
    source: str,
    detail: str = "",
) -> bool:
    """Append one event to the loan's open (or latest) case; False if ``key`` is already there."""
    case_id = conn.execute(
        text("SELECT id FROM collection_case WHERE loan_id = :l ORDER BY status = 'open' DESC, opened_on DESC LIMIT 1"),
        {"l": loan_id},
    ).scalar()
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    row = {
        "key": key,
        "loan_id": loan_id,
        "case_id": case_id,
        "as_of": as_of,
        "at": at,
        "kind": kind,
        "actor": actor,
        "source": source,
        "detail": detail,
    }
    stmt = dialect.insert(E).values(row).on_conflict_do_nothing(index_elements=["key"])
    return conn.execute(stmt.returning(E.c.id)).first() is not None  # (rowcount is -1 on PostgreSQL)


def _in(ids: Sequence[int]) -> str:
    return ",".join(str(int(i)) for i in ids)


def cancel_pending(
    conn: Connection,
    loan_ids: Sequence[int],
    as_of: date,
    now: datetime,
    reason: str,
    *,
    legal: bool,
    action_status: str = "cancelled",
) -> dict[str, int]:
    """Stop everything not yet gone out for these loans: the day's planned actions not yet
    handed to a channel (marked ``action_status``: cancelled, or suppressed for a hold),
    queued messages (not pre-due reminders), letters not yet printed, open call tasks, and
    (``legal``) open legal cases and their tasks. Counts per kind."""
    out = {"actions": 0, "messages": 0, "letters": 0, "calls": 0, "legal_tasks": 0}
    for i in range(0, len(loan_ids), CHUNK):
        ids = _in(loan_ids[i : i + CHUNK])
        p = {"d": as_of, "now": now, "r": reason, "st": action_status}
        out["actions"] += conn.execute(
            text(
                "UPDATE collection_action SET status = :st, reason = :r"
                f" WHERE as_of = :d AND status = 'planned' AND loan_id IN ({ids})"
                " AND NOT EXISTS (SELECT 1 FROM outbox_message o WHERE o.key = collection_action.key)"
                " AND NOT EXISTS (SELECT 1 FROM letter t WHERE t.key = collection_action.key AND t.status <> 'failed')"
                " AND NOT EXISTS (SELECT 1 FROM call_task k WHERE k.key = collection_action.key)"
            ).bindparams(DAY),
            p,
        ).rowcount
        out["messages"] += conn.execute(
            text(
                "UPDATE outbox_message SET status = 'suppressed', reason = :r, updated_at = :now"
                f" WHERE status = 'queued' AND loan_id IN ({ids})"
                " AND key IN (SELECT a.key FROM collection_action a WHERE a.stage <> 'pre_due')"
            ),
            p,
        ).rowcount
        out["letters"] += conn.execute(
            text(
                "UPDATE letter SET status = 'cancelled', error = :r, updated_at = :now"
                f" WHERE status = 'rendered' AND print_batch IS NULL AND loan_id IN ({ids})"
            ),
            p,
        ).rowcount
        out["calls"] += conn.execute(
            text(
                f"UPDATE call_task SET status = 'cancelled', reason = :r WHERE status = 'open' AND loan_id IN ({ids})"
            ),
            p,
        ).rowcount
        if legal:
            out["legal_tasks"] += conn.execute(
                text(
                    "UPDATE legal_task SET status = 'cancelled', outcome = :r, updated_at = :now"
                    " WHERE status IN ('open', 'in_progress') AND legal_case_id IN"
                    f" (SELECT id FROM legal_case WHERE status = 'open' AND loan_id IN ({ids}))"
                ),
                p,
            ).rowcount
            conn.execute(
                text(
                    "UPDATE legal_case SET status = 'closed', closed_on = :d, close_reason = :r"
                    f" WHERE status = 'open' AND loan_id IN ({ids})"
                ).bindparams(DAY),
                p,
            )
    return out


def close_cases(
    conn: Connection,
    loan_ids: Sequence[int],
    as_of: date,
    now: datetime,
    reason: str,
    detail: str,
    *,
    actor: str,
    source: str,
) -> dict[str, int]:
    """Close the open cases of these loans (cured | settled | written_off), cancel what is
    pending on them, and record it on each timeline."""
    if not loan_ids:
        return {}
    stopped = cancel_pending(conn, loan_ids, as_of, now, f"{reason}: {detail}", legal=True)
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    for i in range(0, len(loan_ids), CHUNK):
        ids = _in(loan_ids[i : i + CHUNK])
        closed = conn.execute(
            text(
                "UPDATE collection_case SET status = 'closed', closed_on = :d, close_reason = :r, updated_at = :now"
                f" WHERE status = 'open' AND loan_id IN ({ids}) RETURNING id, loan_id"
            ).bindparams(DAY),
            {"d": as_of, "r": reason, "now": now},
        ).all()
        if not closed:
            continue
        events = [
            {
                "key": f"closed:{loan_id}:{as_of}",
                "loan_id": loan_id,
                "case_id": case_id,
                "as_of": as_of,
                "at": now,
                "kind": reason,
                "actor": actor,
                "source": source,
                "detail": f"{detail}; pending contacts, letters, calls and legal tasks cancelled",
            }
            for case_id, loan_id in closed
        ]
        conn.execute(dialect.insert(E).values(events).on_conflict_do_nothing(index_elements=["key"]))
    return stopped


def open_case(conn: Connection, loan_id: int) -> Any:
    return conn.execute(
        text("SELECT * FROM collection_case WHERE loan_id = :l AND status = 'open'"), {"l": loan_id}
    ).first()


def cases_of(conn: Connection, loan_id: int) -> list[Any]:
    return list(
        conn.execute(text("SELECT * FROM collection_case WHERE loan_id = :l ORDER BY opened_on"), {"l": loan_id})
    )


@dataclass(frozen=True)
class TimelineEntry:
    day: date
    at: datetime | None
    kind: str
    actor: str
    source: str
    detail: str


def _at(value: Any) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value
    return datetime.fromisoformat(str(value))


def _detail(base: str, *parts: tuple[str, Any]) -> str:
    """``base`` followed by each ``(format, value)`` whose value is set."""
    return base + "".join(fmt.format(value) for fmt, value in parts if value)


def _messages(r: Any) -> TimelineEntry:
    detail = _detail(
        f"{r.template} to {mask_recipient(r.channel, r.recipient)}: {r.status}",
        (" ({})", r.reason), (", provider id {}", r.provider_id),
    )  # fmt: skip
    return TimelineEntry(as_date(r.as_of), _at(r.sent_at or r.queued_at), r.channel, "system", "dispatch", detail)


def _letters(r: Any) -> TimelineEntry:
    detail = _detail(
        f"{r.reference} {r.template}: {r.status}",
        (", sha256 {}", r.sha256), (", mail-house {}", r.print_batch),
        (" ({})", r.error if r.status != "rendered" else None),
    )  # fmt: skip
    return TimelineEntry(as_date(r.as_of), _at(r.created_at), "letter", "system", "letters", detail)


def _calls(r: Any) -> TimelineEntry:
    detail = _detail(f"call for {r.collector}: {r.status}", (", {}", r.outcome), (" ({})", r.reason))
    return TimelineEntry(as_date(r.as_of), _at(r.created_at), "call_task", "system", "call-queue", detail)


TIMELINE_SOURCES = (
    ("SELECT as_of, channel, template, recipient, status, reason, provider_id, queued_at, sent_at"
     " FROM outbox_message WHERE loan_id = :l", _messages),
    ("SELECT as_of, reference, template, status, sha256, print_batch, error, created_at FROM letter"
     " WHERE loan_id = :l", _letters),
    ("SELECT as_of, collector, status, outcome, note, reason, logged_at, created_at FROM call_task"
     " WHERE loan_id = :l", _calls),
)  # fmt: skip


def timeline(conn: Connection, loan_id: int) -> list[TimelineEntry]:
    """Everything that happened on the loan, oldest first: case events (stages, promises,
    disputes, hardship, calls, escalation, notes, closing), every message and letter with
    its outcome, and every payment. Recipients are masked."""
    params = {"l": loan_id}
    events = "SELECT as_of, at, kind, actor, source, detail FROM case_event WHERE loan_id = :l"
    out = [
        TimelineEntry(as_date(r.as_of), _at(r.at), r.kind, r.actor, r.source, r.detail)
        for r in conn.execute(text(events), params)
    ]
    for sql, entry in TIMELINE_SOURCES:
        out.extend(entry(r) for r in conn.execute(text(sql), params))
    currency = conn.execute(text("SELECT currency FROM loan WHERE id = :l"), params).scalar() or ""
    for r in conn.execute(text("SELECT paid_on, amount, reference FROM payment WHERE loan_id = :l"), params):
        detail = f"{currency} {from_cents(r.amount)} ({r.reference})"
        out.append(TimelineEntry(as_date(r.paid_on), None, "payment", "borrower", "loan book", detail))
    return sorted(out, key=lambda e: (e.day, e.at.timestamp() if e.at else 0.0, e.kind))
