"""The day's figures, read back from the database so they reflect the whole day
(also after a retry or a second run)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from sqlalchemy import Connection, text

from arrears.money import from_cents
from arrears.store import DAY, letters, outbox


@dataclass
class DaySummary:
    as_of: date
    loans: int = 0
    by_stage_risk: dict[tuple[str, str], int] = field(default_factory=dict)
    overdue: dict[tuple[str, str], Decimal] = field(default_factory=dict)  # (stage, currency) -> amount
    actions_by_channel: dict[str, int] = field(default_factory=dict)
    actions_by_action: dict[str, int] = field(default_factory=dict)
    new_actions: int = 0  # planned by this run (the rest were there already: a re-run)
    messages: dict[tuple[str, str], int] = field(default_factory=dict)  # (channel, status) -> outbox messages
    sent_in_run: int = 0  # provider calls that succeeded in this run (0 on a re-run of a finished day)
    letters: dict[str, int] = field(default_factory=dict)  # status -> the day's letters
    letter_failures: list[str] = field(default_factory=list)  # "reference: reason" of letters not produced
    cases_opened: int = 0
    cases_closed: dict[str, int] = field(default_factory=dict)  # close reason -> cases closed on the day
    open_cases: int = 0
    held: dict[str, int] = field(default_factory=dict)  # hold reason or guard rule -> the day's actions held
    guard: dict[tuple[str, str], int] = field(default_factory=dict)  # (verdict, rule) -> contacts, latest decision
    promises_judged: dict[str, int] = field(default_factory=dict)  # kept | partly_kept | broken -> judged on the day
    calls: dict[str, dict[str, int]] = field(default_factory=dict)  # collector -> status -> call tasks
    new_legal_cases: list[tuple[str, str, str, str]] = field(default_factory=list)  # reference, loan, rule, owner
    overdue_legal_tasks: list[tuple[str, str, str, str]] = field(default_factory=list)  # reference, task, owner, due
    overdue_disputes: list[tuple[str, str, str]] = field(default_factory=list)  # loan, opened, reply by
    dry_run: bool = False

    def overdue_by_currency(self, stage: str | None = None) -> dict[str, Decimal]:
        """Overdue totals per currency (amounts in different currencies are never added)."""
        totals: dict[str, Decimal] = {}
        for (s, currency), amount in sorted(self.overdue.items()):
            if stage is None or s == stage:
                totals[currency] = totals.get(currency, Decimal(0)) + amount
        return totals

    def overdue_text(self, stage: str | None = None) -> str:
        totals = self.overdue_by_currency(stage)
        return "; ".join(f"{c} {v:,.2f}" for c, v in totals.items()) or "0.00"

    def message_count(self, channel: str, status: str | None = None) -> int:
        return sum(n for (c, st), n in self.messages.items() if c == channel and (status is None or st == status))

    @property
    def message_statuses(self) -> list[str]:
        return sorted({st for _, st in self.messages})

    @property
    def actions(self) -> int:
        return sum(self.actions_by_channel.values())

    def guard_count(self, verdict: str) -> int:
        return sum(n for (v, _), n in self.guard.items() if v == verdict)

    def guard_rules(self, verdict: str) -> list[tuple[str, int]]:
        return sorted(((r, n) for (v, r), n in self.guard.items() if v == verdict), key=lambda rn: (-rn[1], rn[0]))

    def stage_count(self, stage: str) -> int:
        return sum(n for (s, _), n in self.by_stage_risk.items() if s == stage)

    def as_json(self) -> dict[str, object]:
        return {
            "as_of": self.as_of.isoformat(),
            "loans": self.loans,
            "by_stage_risk": {f"{s}/{r}": n for (s, r), n in sorted(self.by_stage_risk.items())},
            "overdue": {f"{s}/{c}": str(v) for (s, c), v in sorted(self.overdue.items())},
            "actions_by_channel": dict(sorted(self.actions_by_channel.items())),
            "messages": {f"{c}/{st}": n for (c, st), n in sorted(self.messages.items())},
            "letters": dict(sorted(self.letters.items())),
            "cases": {"opened": self.cases_opened, "closed": self.cases_closed, "open": self.open_cases},
            "held": self.held,
            "guard": {f"{v}/{r}": n for (v, r), n in sorted(self.guard.items())},
            "promises_judged": self.promises_judged,
            "calls": self.calls,
            "new_legal_cases": [r for r, *_ in self.new_legal_cases],
            "overdue_legal_tasks": len(self.overdue_legal_tasks),
            "overdue_disputes": len(self.overdue_disputes),
        }


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
    s.letters = letters.counts(conn, as_of)
    s.letter_failures = letters.failures(conn, as_of)
    from arrears.store.guard import decision_counts

    s.guard = decision_counts(conn, as_of)
    _read_cases(conn, s)
    return s


def _read_cases(conn: Connection, s: DaySummary) -> None:
    from arrears.store.borrower_says import overdue_disputes
    from arrears.store.calls import call_counts
    from arrears.store.legal import opened_on_day, overdue_legal_tasks

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
