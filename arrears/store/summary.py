"""The day's figures, read back from the database so they reflect the whole day
(also after a retry or a second run)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import Connection, text

from arrears.money import from_cents
from arrears.reports.day import DaySummary
from arrears.store import DAY, letters, outbox
from arrears.store.calls import call_counts
from arrears.store.disputes import overdue_disputes
from arrears.store.guard import decision_counts
from arrears.store.legal import opened_on_day, overdue_legal_tasks


def read_day_summary(conn: Connection, as_of: date) -> DaySummary:
    s = DaySummary(as_of)
    for stage, risk, currency, n, overdue in conn.execute(
        text(
            "SELECT p.stage, p.risk, l.currency, COUNT(*), COALESCE(SUM(p.overdue_total), 0)"
            " FROM position p JOIN loan l ON l.id = p.loan_id"
            " WHERE p.as_of = :d GROUP BY p.stage, p.risk, l.currency"
        ).bindparams(DAY),
        {"d": as_of},
    ):
        s.by_stage_risk[(stage, risk)] = s.by_stage_risk.get((stage, risk), 0) + n
        s.loans += n
        if overdue:
            key = (stage, currency)
            s.overdue[key] = s.overdue.get(key, Decimal(0)) + from_cents(int(overdue))
    for channel, action, n in conn.execute(
        text(
            "SELECT channel, action, COUNT(*) FROM collection_action WHERE as_of = :d GROUP BY channel, action"
        ).bindparams(DAY),
        {"d": as_of},
    ):
        s.actions_by_channel[channel] = s.actions_by_channel.get(channel, 0) + n
        s.actions_by_action[action] = n
    s.messages = outbox.counts(conn, as_of)
    s.unsent = outbox.unsent_reasons(conn, as_of)
    s.letters = letters.counts(conn, as_of)
    s.letter_failures = letters.failures(conn, as_of)
    s.guard = decision_counts(conn, as_of)
    _read_cases(conn, s)
    return s


def _read_cases(conn: Connection, s: DaySummary) -> None:
    d = {"d": s.as_of}
    s.cases_opened = int(
        conn.execute(text("SELECT COUNT(*) FROM collection_case WHERE opened_on = :d").bindparams(DAY), d).scalar() or 0
    )
    s.cases_closed = dict(
        conn.execute(  # type: ignore[arg-type]
            text(
                "SELECT close_reason, COUNT(*) FROM collection_case WHERE closed_on = :d GROUP BY close_reason"
            ).bindparams(DAY),
            d,
        ).all()
    )
    s.open_cases = int(conn.execute(text("SELECT COUNT(*) FROM collection_case WHERE status = 'open'")).scalar() or 0)
    s.held = dict(
        conn.execute(  # type: ignore[arg-type]
            text(
                "SELECT CASE WHEN status = 'suppressed' THEN COALESCE(rule, reason) ELSE reason END AS why, COUNT(*)"
                " FROM collection_action WHERE as_of = :d AND status IN ('suppressed', 'cancelled') GROUP BY why"
            ).bindparams(DAY),
            d,
        ).all()
    )
    s.promises_judged = dict(
        conn.execute(  # type: ignore[arg-type]
            text("SELECT status, COUNT(*) FROM promise WHERE judged_on = :d GROUP BY status").bindparams(DAY), d
        ).all()
    )
    s.calls = call_counts(conn, s.as_of)
    s.new_legal_cases = [(r.reference, r.loan_no, r.rule, r.owner or "") for r in opened_on_day(conn, s.as_of)]
    s.overdue_legal_tasks = [(r.reference, r.kind, r.owner, str(r.due_on)) for r in overdue_legal_tasks(conn, s.as_of)]
    s.overdue_disputes = [(r.loan_no, str(r.opened_on), str(r.reply_by)) for r in overdue_disputes(conn, s.as_of)]


def planned_by_channel(conn: Connection, as_of: date) -> dict[str, int]:
    """The day's actions still waiting (status ``planned``), per channel."""
    rows = conn.execute(
        text(
            "SELECT channel, COUNT(*) FROM collection_action WHERE as_of = :d AND status = 'planned' GROUP BY channel"
        ).bindparams(DAY),
        {"d": as_of},
    )
    return dict(rows.all())  # type: ignore[arg-type]
