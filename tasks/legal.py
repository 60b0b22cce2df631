from __future__ import annotations

from datetime import date

from prefect import get_run_logger

from arrears.runtime import Runtime
from arrears.steps import legal
from tasks.retry import db_task


@db_task("escalate", "escalate {as_of}")
def escalate(rt: Runtime, as_of: date) -> legal.Escalated:
    """Legal cases for the loans the escalation rules fire for (one per collection case)."""
    result = legal.escalate_day(rt, as_of)
    get_run_logger().info("escalation %s: %d new legal cases %s", as_of, len(result.references), result.by_rule)
    return result
