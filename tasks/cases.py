"""Case steps of the day: promises judged, cases followed, calls queued, legal escalation."""

from __future__ import annotations

from datetime import date

from prefect import get_run_logger

from arrears import casework
from arrears.runtime import Runtime
from arrears.store.cases import CaseDay
from tasks.messages import wall_clock
from tasks.retry import db_task


@db_task("judge-promises", "judge-promises {as_of}")
def judge_promises(rt: Runtime, as_of: date) -> dict[str, int]:
    """Promises whose date has passed become kept, partly kept or broken."""
    verdicts = casework.judge_day_promises(rt.engine, as_of, wall_clock())
    get_run_logger().info("promises judged on %s: %s", as_of, verdicts or "none")
    return verdicts


@db_task("track-cases", "track-cases {as_of}")
def track_cases(rt: Runtime, as_of: date) -> CaseDay:
    """Open cases for newly delinquent loans, record stage changes, close cured cases and
    cancel what was pending on them."""
    day = casework.track_day_cases(rt.engine, as_of, wall_clock())
    get_run_logger().info(
        "cases %s: %d opened, %d cured, %d stage changes", as_of, day.opened, len(day.cured), day.stage_changes
    )
    return day


@db_task("call-queue", "call-queue {as_of}")
def queue_calls(rt: Runtime, as_of: date) -> dict[str, int]:
    """The day's planned calls, ordered by risk and amount, dealt to the collectors."""
    per_collector = casework.queue_day_calls(rt.engine, rt.settings, as_of, wall_clock())
    get_run_logger().info("call tasks %s: %s", as_of, per_collector or "none new")
    return per_collector


@db_task("escalate", "escalate {as_of}")
def escalate(rt: Runtime, as_of: date) -> casework.Escalated:
    """Legal cases for the loans the escalation rules fire for (one per collection case)."""
    result = casework.escalate_day(rt.engine, rt.policy, rt.settings, as_of, wall_clock())
    get_run_logger().info("escalation %s: %d new legal cases %s", as_of, len(result.references), result.by_rule)
    return result
