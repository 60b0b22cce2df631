"""Figures collections managers track, read from the stored positions and payments.

Both compare the day with the previous run day (the last ``as_of`` with positions before it):
* roll rates: loans per (stage then, stage now) — the bucket-to-bucket matrix;
* recovery by stage: for the loans overdue then, what they paid since, capped at what was
  overdue (paying ahead is not recovery), per stage then and currency.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import Connection, Date, bindparam, text

from arrears.money import from_cents
from arrears.store import DAY
from arrears.store.cases import prev_run_day


@dataclass(frozen=True)
class Recovery:
    stage: str
    currency: str
    loans: int
    overdue: Decimal  # overdue then
    recovered: Decimal  # paid since, capped per loan at its overdue then

    @property
    def rate(self) -> Decimal:
        return (self.recovered / self.overdue).quantize(Decimal("0.0001")) if self.overdue else Decimal(0)


def roll_rates(conn: Connection, as_of: date) -> tuple[date | None, dict[tuple[str, str], int]]:
    prev = prev_run_day(conn, as_of)
    if prev is None:
        return None, {}
    rows = conn.execute(
        text(
            "SELECT q.stage, p.stage, COUNT(*) FROM position p JOIN position q ON q.loan_id = p.loan_id"
            " AND q.as_of = :prev WHERE p.as_of = :d GROUP BY q.stage, p.stage"
        ).bindparams(DAY, bindparam("prev", type_=Date())),
        {"d": as_of, "prev": prev},
    )
    return prev, {(a, b): int(n) for a, b, n in rows}


def recovery_by_stage(conn: Connection, as_of: date, since: date | None = None) -> tuple[date | None, list[Recovery]]:
    """``since``: the earlier run day to compare with (default: the previous run day)."""
    prev = since or prev_run_day(conn, as_of)
    if prev is None:
        return None, []
    rows = conn.execute(
        text(
            "SELECT q.stage, l.currency, COUNT(*), SUM(q.overdue_total),"
            " SUM(CASE WHEN COALESCE(pay.amount, 0) > q.overdue_total THEN q.overdue_total"
            "     ELSE COALESCE(pay.amount, 0) END)"
            " FROM position q JOIN loan l ON l.id = q.loan_id"
            " LEFT JOIN (SELECT loan_id, SUM(amount) AS amount FROM payment"
            "   WHERE paid_on > :prev AND paid_on <= :d GROUP BY loan_id) pay ON pay.loan_id = q.loan_id"
            " WHERE q.as_of = :prev AND q.overdue_total > 0 GROUP BY q.stage, l.currency ORDER BY q.stage, l.currency"
        ).bindparams(DAY, bindparam("prev", type_=Date())),
        {"d": as_of, "prev": prev},
    )
    return prev, [
        Recovery(stage, currency, int(n), from_cents(int(overdue)), from_cents(int(recovered)))
        for stage, currency, n, overdue, recovered in rows
    ]
