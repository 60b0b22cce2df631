"""What the policy plans next for one loan if nothing changes (no payment, no promise): the
engine and the planner run forward day by day (pure)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from arrears.cases.escalation import EscalationView, rule_fired
from arrears.engine import LoanBook, position_for
from arrears.planning import PositionView, PromiseView, plan_actions
from arrears.policy import Policy


@dataclass(frozen=True)
class Upcoming:
    day: date
    stage: str
    dpd: int
    what: str  # action (channel), or "escalation (<rule>)"
    held: str | None = None


def outlook(
    book: LoanBook,
    policy: Policy,
    as_of: date,
    *,
    days: int = 30,
    broken_promises: int = 0,
    disputed: bool = False,
    promise: PromiseView | None = None,
    escalated: bool = False,
    limit: int = 10,
) -> list[Upcoming]:
    """The next ``limit`` actions within ``days`` after ``as_of``."""
    out: list[Upcoming] = []
    for n in range(1, days + 1):
        day = as_of + timedelta(days=n)
        row = position_for(book, day, policy, broken_promises)
        if row.stage == "current":
            continue
        view = PositionView(
            book.loan_id,
            book.loan_no,
            book.borrower_id,
            row.stage,
            row.risk,
            row.dpd,
            row.next_due_date,
            row.overdue_total,
        )
        promises = {book.loan_id: promise} if promise else None
        for a in plan_actions([view], policy, day, disputed=[book.loan_id] if disputed else [], promises=promises):
            out.append(Upcoming(day, row.stage, row.dpd, f"{a.action} ({a.channel})", a.reason))
        if not escalated and row.dpd > 0 and not disputed:
            rule = rule_fired(
                EscalationView(
                    book.loan_id, book.loan_no, 0, row.stage, row.dpd, row.overdue_total, broken_promises, book.product,
                    book.currency,
                ),
                policy.escalation,
            )
            if rule:
                out.append(Upcoming(day, row.stage, row.dpd, f"escalation to legal ({rule})"))
                escalated = True
        if len(out) >= limit:
            break
    return out[:limit]
