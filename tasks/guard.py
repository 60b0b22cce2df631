"""The contact-rules guard step: every planned contact of the day allowed, deferred or suppressed."""

from __future__ import annotations

from datetime import date, datetime

from prefect import get_run_logger

from arrears.guarding import guard_day
from arrears.runtime import Runtime
from tasks.retry import db_task


@db_task("guard", "guard {as_of}")
def guard_contacts(rt: Runtime, as_of: date, now: datetime) -> dict[str, int]:
    """Decide the day's planned contacts at ``now`` (the run's clock); returns "verdict:rule" -> count.
    A re-run decides only what is new: decisions are recorded on the actions."""
    with rt.engine.begin() as conn:
        counts = guard_day(conn, as_of, rt.policy.guard_rules, now)
    by_rule = {f"{verdict}:{rule}": n for (verdict, rule), n in sorted(counts.items())}
    get_run_logger().info("guard %s: %s", as_of, by_rule or "nothing new to decide")
    return by_rule
