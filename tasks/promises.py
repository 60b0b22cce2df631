from __future__ import annotations

from datetime import date

from prefect import get_run_logger

from arrears.runtime import Runtime
from arrears.steps import promises
from tasks.retry import db_task


@db_task("judge-promises", "judge-promises {as_of}")
def judge_promises(rt: Runtime, as_of: date) -> dict[str, int]:
    """Promises whose date has passed become kept, partly kept or broken."""
    verdicts = promises.judge_day(rt, as_of)
    get_run_logger().info("promises judged on %s: %s", as_of, verdicts or "none")
    return verdicts
