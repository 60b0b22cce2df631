"""The daily collection run: snapshot -> judge promises -> classify -> track cases -> plan ->
guard -> call queue -> escalate -> letters -> reminders -> summary."""

from __future__ import annotations

from datetime import date, datetime

from prefect import flow, get_run_logger, runtime, unmapped
from prefect.task_runners import ThreadPoolTaskRunner

from arrears.reports.day import DaySummary, RunFacts
from arrears.reports.status import retry_command
from arrears.runtime import Clock, leased, open_runtime
from arrears.settings import get_settings
from arrears.store.daylock import day_lock
from arrears.store.runs import recorded_run
from flows.on_dask import classify_book, dask_scheduler, plan_book
from flows.progress import with_progress
from flows.sending import Dispatched, DispatchIncomplete, send_outbox
from tasks.calls import queue_calls
from tasks.cases import track_cases
from tasks.channels import hand_to_channels
from tasks.classify import classify_batch
from tasks.database import prepare_database
from tasks.guard import guard_contacts
from tasks.legal import escalate
from tasks.letters import LettersIncomplete, archive_problems, mailhouse_batch, render_day_letters
from tasks.messages import queue_messages
from tasks.plan import plan_batch, planning_batches
from tasks.promises import judge_promises
from tasks.report import write_day_report
from tasks.snapshot import snapshot_book
from tasks.summary import publish_summary

__all__ = ["DispatchIncomplete", "daily_collection", "resolve_as_of"]


def resolve_as_of(as_of: date | str | None, clock: Clock) -> date:
    """``as_of`` as given, or today in the lender's timezone by the clock."""
    if isinstance(as_of, str):
        return date.fromisoformat(as_of)
    return as_of if as_of is not None else clock.today(get_settings())


def _clock(now: datetime | str | None) -> Clock:
    return Clock(datetime.fromisoformat(now) if isinstance(now, str) else now)


def _run_name() -> str:
    params = runtime.flow_run.parameters
    return f"collection-{resolve_as_of(params.get('as_of'), _clock(params.get('now')))}"


@flow(
    name="daily-collection", flow_run_name=_run_name, task_runner=ThreadPoolTaskRunner(max_workers=4), log_prints=False
)
def daily_collection(as_of: date | None = None, now: datetime | None = None, dry_run: bool = False) -> DaySummary:
    """Classify the whole book on ``as_of``, plan the day's actions and send its reminders.

    ``now`` is the clock (default: the real one), so a day can be replayed: messages of a
    day older than the policy's staleness limit are expired, not sent.
    """
    clock = _clock(now)
    day = resolve_as_of(as_of, clock)
    settings = get_settings()
    if dry_run:
        settings = settings.model_copy(update={"dry_run": True})
    flow_run_id = str(runtime.flow_run.id or "") or None
    deployed = bool(runtime.deployment.id)
    with open_runtime(settings, clock) as base, dask_scheduler(settings) as dask:
        prepare_database(base)
        with leased(base, "daily", flow_run_id) as rt, recorded_run(
            rt.engine, day, flow_run_id, rt.lease, rt.policy.fingerprint
        ) as run:
            with day_lock(rt.engine, day, get_run_logger().warning):  # one run computes the day at a time
                batches = snapshot_book(rt, day)
                judge_promises(rt, day)
                if dask:  # the same steps, as tasks of subflows on the Dask cluster
                    classify_book(rt, batches, day, dask)
                else:
                    classify = classify_batch.map(unmapped(rt), batches, unmapped(day))
                    with_progress(classify, "classify-progress", "classify")
                track_cases(rt, day)
                bounds = planning_batches(rt, day)
                if dask:
                    plans = plan_book(rt, bounds, day, dask)
                else:
                    plans = plan_batch.map(unmapped(rt), bounds, unmapped(day)).result()
                guard_contacts(rt, day)
                hand_to_channels(rt, day)
                queue_calls(rt, day)
                escalate(rt, day)
                # letters before messages: an email that carries a letter attaches the archived PDF; a
                # letters folder that cannot be written fails its step, not the day (checked at the end)
                archive = archive_problems(
                    [render_day_letters(rt, day, return_state=True), mailhouse_batch(rt, day, return_state=True)]
                )
                queue_messages(rt, day)
            by_channel = Dispatched() if rt.settings.dry_run else send_outbox(rt, day)
            dispatched = by_channel.total
            facts = RunFacts(
                new_actions=sum(p.new for p in plans), sent_in_run=dispatched.sent + dispatched.recovered,
                incomplete=by_channel.incomplete, flow_run_id=flow_run_id, deployed=deployed,
                retry_command=retry_command(flow_run_id, "daily-collection", deployed) if flow_run_id else None,
                archive_problem="; ".join(archive) or None,
            )  # fmt: skip
            summary = publish_summary(rt, day, facts)
            if rt.settings.daily_report:
                write_day_report(rt, day)
            run.summary = summary
            run.status = "failed" if dispatched.incomplete or archive else "completed"
    get_run_logger().info(
        "collection %s: %d loans, %d actions for the day (%d new in this run), %d messages sent in this run",
        day, summary.loans, summary.actions, summary.new_actions, summary.sent_in_run,
    )  # fmt: skip
    if dispatched.incomplete:
        raise DispatchIncomplete(
            f"{dispatched.incomplete} messages not sent: {dispatched.left_queued} still queued after provider errors, "
            f"{dispatched.undecided} awaiting reconciliation, {dispatched.held} held for review. "
            "Re-trigger the run to send exactly the rest."
        )
    if archive:
        raise LettersIncomplete("; ".join(archive) + ". Re-trigger the run once the folder is writable.")
    return summary
