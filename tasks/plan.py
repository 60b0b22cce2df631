from __future__ import annotations

from datetime import date

from arrears.daywork import PlanSummary, plan_borrowers
from arrears.runtime import Runtime
from arrears.store.positions import actionable_borrowers
from tasks.retry import db_task


@db_task("plan-batches", "plan-batches {as_of}")
def planning_batches(rt: Runtime, as_of: date) -> list[tuple[str, str]]:
    """Borrower-id ranges to plan: a borrower's loans are always planned together."""
    with rt.engine.connect() as conn:
        borrowers = actionable_borrowers(conn, as_of)
    size = rt.settings.batch_size
    return [(borrowers[i], borrowers[min(i + size, len(borrowers)) - 1]) for i in range(0, len(borrowers), size)]


@db_task("plan", "plan borrowers {bounds[0]}..{bounds[1]}")
def plan_batch(rt: Runtime, bounds: tuple[str, str], as_of: date) -> PlanSummary:
    """Plan the policy's actions for these borrowers; keys already planned are skipped."""
    return rt.pool.submit(plan_borrowers, rt.url, rt.policy_path, bounds[0], bounds[1], as_of).result()
