from __future__ import annotations

from datetime import date

from prefect import task
from prefect.cache_policies import NO_CACHE

from arrears.daywork import PlanSummary, plan_borrowers
from arrears.runtime import Runtime
from arrears.store.positions import actionable_borrowers
from tasks.retry import transient_io


@task(
    name="plan-batches",
    task_run_name="plan-batches {as_of}",
    cache_policy=NO_CACHE,
    retries=2,
    retry_delay_seconds=5,
    retry_condition_fn=transient_io,
)
def planning_batches(rt: Runtime, as_of: date) -> list[tuple[str, str]]:
    """Borrower-id ranges to plan: a borrower's loans are always planned together."""
    with rt.engine.connect() as conn:
        borrowers = actionable_borrowers(conn, as_of)
    size = rt.settings.batch_size
    return [(borrowers[i], borrowers[min(i + size, len(borrowers)) - 1]) for i in range(0, len(borrowers), size)]


@task(
    name="plan",
    task_run_name="plan borrowers {bounds[0]}..{bounds[1]}",
    cache_policy=NO_CACHE,
    retries=2,
    retry_delay_seconds=[5, 30],
    retry_condition_fn=transient_io,
)
def plan_batch(rt: Runtime, bounds: tuple[str, str], as_of: date) -> PlanSummary:
    """Plan the policy's actions for these borrowers; keys already planned are skipped."""
    return rt.pool.submit(plan_borrowers, rt.url, rt.policy_path, bounds[0], bounds[1], as_of).result()
