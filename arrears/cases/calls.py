"""Collector call queues: who calls whom, in which order (pure).

Order: risk (high first), then overdue total (largest first), then DPD, then loan number.
Assignment: ``round_robin`` deals the ordered list out to the collectors in turn;
``region`` gives a call to the collector whose region (a substring of the borrower's
address, e.g. a province or city) matches first, and deals the rest round robin.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

RISK_ORDER = {"high": 0, "medium": 1, "low": 2}
OUTCOMES = ("reached", "no_answer", "wrong_number", "ptp", "dispute", "refused")


@dataclass(frozen=True, slots=True)
class CallCandidate:
    key: str
    loan_id: int
    loan_no: str
    borrower_id: str
    address: str
    stage: str
    risk: str
    dpd: int
    overdue_total: Decimal
    template: str
    call_from: datetime | None = None  # the guard's earliest allowed moment (borrower's hours)


@dataclass(frozen=True, slots=True)
class QueuedCall:
    call: CallCandidate
    collector: str
    rank: int


def priority(c: CallCandidate) -> tuple[int, Decimal, int, str]:
    return (RISK_ORDER.get(c.risk, 3), -c.overdue_total, -c.dpd, c.loan_no)


def assign_calls(
    candidates: Sequence[CallCandidate],
    collectors: Sequence[str],
    mode: str = "round_robin",
    regions: Mapping[str, str] | None = None,
    already: Mapping[str, int] | None = None,
) -> list[QueuedCall]:
    """Assign and rank the day's new calls. ``already``: calls each collector already has that
    day (a re-run appends to the queues without reshuffling them)."""
    if not collectors:
        raise ValueError("no collectors configured (ARREARS_COLLECTORS)")
    counts = dict.fromkeys(collectors, 0) | dict(already or {})
    dealt = sum(counts.values())
    out = []
    for call in sorted(candidates, key=priority):
        collector = None
        if mode == "region":
            collector = next((who for region, who in (regions or {}).items() if region in call.address), None)
        if collector is None:
            collector = collectors[dealt % len(collectors)]
            dealt += 1
        counts[collector] = counts.get(collector, 0) + 1
        out.append(QueuedCall(call, collector, counts[collector]))
    return out
