"""Risk grade (low / medium / high) as a points score; the tables are policy.

score = points(DPD) + points(overdue total) + points(times late) + points(broken promises)
        - secured_credit (when the loan has collateral or a guarantor)
Each table is a list of (threshold, points) pairs: a factor scores the points of
the highest threshold it reaches. grade = high if score >= high_at, medium if
score >= medium_at, else low.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

LOW, MEDIUM, HIGH = "low", "medium", "high"
GRADES = (LOW, MEDIUM, HIGH)

Table = tuple[tuple[Decimal, int], ...]


@dataclass(frozen=True, slots=True)
class RiskRules:
    dpd: Table
    overdue_total: Table
    times_late: Table
    broken_promises: Table
    secured_credit: int
    medium_at: int
    high_at: int


DEFAULT_RISK_RULES = RiskRules(
    dpd=((Decimal(1), 1), (Decimal(31), 2), (Decimal(61), 3)),
    overdue_total=((Decimal(5000), 1), (Decimal(20000), 2)),
    times_late=((Decimal(2), 1), (Decimal(4), 2)),
    broken_promises=((Decimal(1), 1), (Decimal(2), 2)),
    secured_credit=1,
    medium_at=2,
    high_at=4,
)


def _points(value: Decimal | int, table: Table) -> int:
    best = 0
    for threshold, points in table:
        if value >= threshold:
            best = points
    return best


def risk_score(
    rules: RiskRules, *, dpd: int, overdue_total: Decimal, times_late: int, secured: bool, broken_promises: int = 0
) -> int:
    score = (
        _points(dpd, rules.dpd)
        + _points(overdue_total, rules.overdue_total)
        + _points(times_late, rules.times_late)
        + _points(broken_promises, rules.broken_promises)
    )
    return score - (rules.secured_credit if secured else 0)


def grade_risk(
    rules: RiskRules, *, dpd: int, overdue_total: Decimal, times_late: int, secured: bool, broken_promises: int = 0
) -> str:
    score = risk_score(
        rules,
        dpd=dpd,
        overdue_total=overdue_total,
        times_late=times_late,
        secured=secured,
        broken_promises=broken_promises,
    )
    if score >= rules.high_at:
        return HIGH
    if score >= rules.medium_at:
        return MEDIUM
    return LOW
