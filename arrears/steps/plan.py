"""Plan: the policy's actions for the day's positions, a range of borrowers at a time (a
borrower's loans are always planned together), inserted if their key is new."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date

from arrears.faults import crash_point
from arrears.planning import plan_actions
from arrears.runtime import Runtime, worker_engine, worker_policy
from arrears.store.actions import insert_planned
from arrears.store.disputes import disputed_loans
from arrears.store.experiments import arms_for
from arrears.store.positions import actionable_borrowers, read_position_views
from arrears.store.promises import open_promises


@dataclass(frozen=True)
class PlanSummary:
    planned: int  # actions the policy calls for
    new: int  # of which not planned before (the rest were already there: a re-run)
    by_channel: Counter[str]


def planning_batches(rt: Runtime, as_of: date) -> list[tuple[str, str]]:
    """Borrower-id ranges to plan: a borrower's loans are always planned together."""
    with rt.engine.connect() as conn:
        borrowers = actionable_borrowers(conn, as_of)
    size = rt.settings.batch_size
    return [(borrowers[i], borrowers[min(i + size, len(borrowers)) - 1]) for i in range(0, len(borrowers), size)]


def plan_batch(rt: Runtime, bounds: tuple[str, str], as_of: date) -> PlanSummary:
    """The range planned in a worker of the runtime's pool."""
    return rt.pool.submit(plan_borrowers, rt.url, rt.policy_path, bounds[0], bounds[1], as_of).result()


def plan_borrowers(
    url: str, policy_path: str | None, first_borrower: str, last_borrower: str, as_of: date
) -> PlanSummary:
    """Plan the policy's actions for borrowers ``first..last`` and store the new ones."""
    policy = worker_policy(policy_path)
    with worker_engine(url).begin() as conn:
        positions = list(read_position_views(conn, as_of, first_borrower, last_borrower))
        planned = plan_actions(
            positions,
            policy,
            as_of,
            disputed=disputed_loans(conn, as_of, first_borrower, last_borrower),
            promises=open_promises(conn, as_of, first_borrower, last_borrower),
            arms=arms_for(conn, policy, positions, as_of),  # a running experiment's: each loan's strategy
        )
        new = insert_planned(conn, planned)
        crash_point("plan.inserted")  # inserted, not committed
    crash_point("plan.committed")
    return PlanSummary(planned=len(planned), new=new, by_channel=Counter(a.channel for a in planned))
