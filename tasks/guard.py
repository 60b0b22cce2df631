"""The contact-rules guard step: every planned contact of the day allowed, deferred or suppressed."""

from __future__ import annotations

from datetime import date

from prefect import get_run_logger

from arrears.runtime import Runtime
from arrears.steps import guard
from tasks.retry import db_task


@db_task("guard", "guard {as_of}")
def guard_contacts(rt: Runtime, as_of: date) -> dict[str, int]:
    """Decide the day's planned contacts at the run's clock; returns "verdict:rule" -> count.
    A re-run decides only what is new: decisions are recorded on the actions."""
    by_rule = guard.decide_day(rt, as_of)
    get_run_logger().info("guard %s: %s", as_of, by_rule or "nothing new to decide")
    return by_rule
