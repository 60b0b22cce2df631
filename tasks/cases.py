from __future__ import annotations

from datetime import date

from prefect import get_run_logger

from arrears.runtime import Runtime
from arrears.steps import cases
from arrears.store.cases import CaseDay
from tasks.retry import db_task


@db_task("track-cases", "track-cases {as_of}")
def track_cases(rt: Runtime, as_of: date) -> CaseDay:
    """Open cases for newly delinquent loans, record stage changes, close cured cases and
    cancel what was pending on them."""
    day = cases.track_day(rt, as_of)
    get_run_logger().info(
        "cases %s: %d opened, %d cured, %d stage changes", as_of, day.opened, len(day.cured), day.stage_changes
    )
    return day
