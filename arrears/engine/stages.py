"""Collection stages (催收阶段) from DPD; the boundaries are policy, not code."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

CURRENT = "current"
PRE_DUE = "pre_due"


@dataclass(frozen=True, slots=True)
class Bucket:
    name: str
    min_dpd: int
    max_dpd: int | None  # None: open-ended (M3+)


@dataclass(frozen=True, slots=True)
class StageRules:
    pre_due_days: int
    buckets: tuple[Bucket, ...]

    @property
    def names(self) -> tuple[str, ...]:
        return (PRE_DUE, *(b.name for b in self.buckets), CURRENT)


DEFAULT_STAGE_RULES = StageRules(
    pre_due_days=3,
    buckets=(
        Bucket("M1", 1, 30),
        Bucket("M2", 31, 60),
        Bucket("M3", 61, 90),
        Bucket("M3+", 91, None),
    ),
)


def classify_stage(dpd: int, next_due_date: date | None, as_of: date, rules: StageRules) -> str:
    """pre_due when nothing is overdue and an unpaid installment falls due within
    ``pre_due_days`` (due on as_of counts); the bucket containing DPD when DPD > 0;
    current otherwise."""
    if dpd > 0:
        for bucket in rules.buckets:
            if dpd >= bucket.min_dpd and (bucket.max_dpd is None or dpd <= bucket.max_dpd):
                return bucket.name
        return CURRENT  # unreachable for a validated policy (buckets cover 1..inf)
    if next_due_date is not None and 0 <= (next_due_date - as_of).days <= rules.pre_due_days:
        return PRE_DUE
    return CURRENT


def days_in_stage(stage: str, dpd: int, next_due_date: date | None, as_of: date, rules: StageRules) -> int | None:
    """Days since the loan entered its current stage (0 on the first day), from the
    position alone: the policy's "every N days while in stage" needs no history."""
    if stage == PRE_DUE and next_due_date is not None:
        return rules.pre_due_days - (next_due_date - as_of).days
    for bucket in rules.buckets:
        if bucket.name == stage:
            return dpd - bucket.min_dpd
    return None
