from __future__ import annotations

from datetime import date

from arrears.runtime import Runtime
from arrears.steps import plan
from tasks.retry import db_task


@db_task("plan-batches", "plan-batches {as_of}")
def planning_batches(rt: Runtime, as_of: date) -> list[tuple[str, str]]:
    """Borrower-id ranges to plan: a borrower's loans are always planned together."""
    return plan.planning_batches(rt, as_of)


@db_task("plan", "plan borrowers {bounds[0]}..{bounds[1]}")
def plan_batch(rt: Runtime, bounds: tuple[str, str], as_of: date) -> plan.PlanSummary:
    """Plan the policy's actions for these borrowers; keys already planned are skipped."""
    return plan.plan_batch(rt, bounds, as_of)
