"""The daily collection run: snapshot -> classify -> plan -> channels -> summary."""

from __future__ import annotations

from datetime import UTC, date, datetime

from prefect import flow, get_run_logger, runtime, unmapped
from prefect.task_runners import ThreadPoolTaskRunner

from arrears.runtime import open_runtime
from arrears.settings import get_settings
from arrears.store.runs import finish_run, start_run
from arrears.store.summary import DaySummary
from tasks.channels import hand_to_channels
from tasks.classify import classify_batch
from tasks.database import prepare_database
from tasks.plan import plan_batch, planning_batches
from tasks.report import publish_summary
from tasks.snapshot import snapshot_book


def resolve_as_of(as_of: date | str | None, now: datetime | None = None) -> date:
    """``as_of`` as given, or today in the lender's timezone."""
    if isinstance(as_of, str):
        return date.fromisoformat(as_of)
    if as_of is not None:
        return as_of
    return get_settings().today(now or datetime.now(UTC))


def _run_name() -> str:
    return f"collection-{resolve_as_of(runtime.flow_run.parameters.get('as_of'))}"


@flow(
    name="daily-collection", flow_run_name=_run_name, task_runner=ThreadPoolTaskRunner(max_workers=4), log_prints=False
)
def daily_collection(as_of: date | None = None) -> DaySummary:
    """Classify the whole book on ``as_of`` and plan the day's collection actions."""
    day = resolve_as_of(as_of)
    settings = get_settings()
    with open_runtime(settings) as rt:
        prepare_database(rt)
        run_id = start_run(engine=rt.engine, as_of=day, flow_run_id=str(runtime.flow_run.id or "") or None)
        try:
            batches = snapshot_book(rt, day)
            classify_batch.map(unmapped(rt), batches, unmapped(day)).result()
            bounds = planning_batches(rt, day)
            plans = plan_batch.map(unmapped(rt), bounds, unmapped(day)).result()
            hand_to_channels(rt, day)
            summary = publish_summary(rt, day, new_actions=sum(p.new for p in plans))
        except BaseException:
            finish_run(engine=rt.engine, run_id=run_id, status="failed", summary=None)
            raise
        finish_run(engine=rt.engine, run_id=run_id, status="completed", summary=summary)
    get_run_logger().info(
        "collection %s: %d loans, %d actions for the day (%d new in this run)",
        day,
        summary.loans,
        summary.actions,
        summary.new_actions,
    )
    return summary
