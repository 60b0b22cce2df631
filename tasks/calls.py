from __future__ import annotations

from datetime import date

from prefect import get_run_logger

from arrears.runtime import Runtime
from arrears.steps import calls
from tasks.retry import db_task


@db_task("call-queue", "call-queue {as_of}")
def queue_calls(rt: Runtime, as_of: date) -> dict[str, int]:
    """The day's planned calls, ordered by risk and amount, dealt to the collectors."""
    per_collector = calls.queue_day(rt, as_of)
    get_run_logger().info("call tasks %s: %s", as_of, per_collector or "none new")
    return per_collector
