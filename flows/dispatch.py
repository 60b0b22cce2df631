"""Dispatch: send what the guard deferred, once its moment has come.

The daily run queues the day's messages at 07:00; those outside a borrower's hours (or on a
rest day, or after a conversation) wait in the outbox with their next allowed moment. This flow,
scheduled hourly (``prefect.yaml``: ``dispatch``), settles and sends every queued message that
is due — through the same guard, at the run's clock, so nothing goes out at the wrong hour.
"""

from __future__ import annotations

from datetime import datetime

from prefect import flow, get_run_logger, runtime
from prefect.task_runners import ThreadPoolTaskRunner

from arrears.runtime import Clock, leased, open_runtime
from arrears.settings import get_settings
from arrears.steps.sender import DispatchReport
from flows.sending import DispatchIncomplete, send_outbox
from tasks.database import prepare_database


def _run_name() -> str:
    now = runtime.flow_run.parameters.get("now")
    clock = Clock(datetime.fromisoformat(now) if isinstance(now, str) else now)
    return f"dispatch-{clock.now().astimezone(get_settings().lender_zone):%Y-%m-%d-%H%M}"


@flow(name="dispatch", flow_run_name=_run_name, task_runner=ThreadPoolTaskRunner(max_workers=4), log_prints=False)
def dispatch_due(now: datetime | None = None) -> DispatchReport:
    """Send every queued message whose allowed moment has come (``now``: the clock, default the real one)."""
    clock = Clock(now)
    settings = get_settings()
    with open_runtime(settings, clock) as base:
        prepare_database(base)
        with leased(base, "dispatch", str(runtime.flow_run.id or "") or None) as rt:
            report = send_outbox(rt, clock.today(settings)).total
    get_run_logger().info(
        "dispatch: %d sent, %d deferred, %d suppressed, %d expired", report.sent + report.recovered,
        report.deferred, report.suppressed, report.expired,
    )  # fmt: skip
    if report.incomplete:
        raise DispatchIncomplete(
            f"{report.incomplete} messages not sent ({report.left_queued} still queued after provider errors, "
            f"{report.undecided} awaiting reconciliation, {report.held} held for review); the next dispatch retries."
        )
    return report
