"""Dispatch: settle the outbox, then send it in chunks (one task per chunk, never one per message)."""

from __future__ import annotations

from datetime import date

from prefect import get_run_logger, runtime

from arrears.runtime import Runtime
from arrears.steps import dispatch
from arrears.steps.sender import DispatchReport
from tasks.retry import db_task


@db_task("settle-outbox", "settle-outbox {channel}")
def settle_outbox(rt: Runtime, channel: str, as_of: date) -> tuple[list[int], DispatchReport]:
    """Reconcile what a crash left `sending`, expire what is too old to send, drop earlier
    days' reminders about loans cured since; returns the ids of messages to send now."""
    log = get_run_logger()
    settled = dispatch.settle_outbox(rt, channel, as_of, log.warning)
    r = settled.report
    if settled.in_flight:
        log.info("%s: %d messages being sent by another live run: left to it", channel, settled.in_flight)
    if r.expired or r.suppressed or settled.stuck:
        log.warning(
            "%s: %d expired unsent, %d of cured loans suppressed; %d left `sending` by an earlier run: "
            "%d found sent, %d re-queued, %d held",
            channel, r.expired, r.suppressed, settled.stuck, r.recovered, r.requeued, r.held,
        )  # fmt: skip
    return settled.ids, r


class ChunkIncomplete(RuntimeError):
    """A chunk's messages could not all be sent (they stay queued, or await reconciliation): the
    task ends Failed so the run's graph points at it; ``report`` holds what it did."""

    def __init__(self, message: str, report: DispatchReport) -> None:
        super().__init__(message)
        self.report = report

    def __reduce__(self) -> tuple[type, tuple[str, DispatchReport]]:  # results may be pickled
        return (type(self), (str(self), self.report))


def _send_run_name() -> str:
    params = runtime.task_run.parameters
    ids = params["ids"]
    return f"send {params['channel']} #{ids[0]}..#{ids[-1]} ({len(ids)} messages)"


@db_task("send-messages", _send_run_name)
def send_messages(rt: Runtime, channel: str, ids: list[int]) -> DispatchReport:
    """Send one chunk through the provider's SDK, drawing on the run's per-provider token bucket;
    raises ``ChunkIncomplete`` (not retried: a retry of the run sends the rest) when it could not
    send them all."""
    log = get_run_logger()
    report = dispatch.send_chunk(rt, channel, ids, log.warning)
    log.info(
        "%s: %d sent, %d failed, %d suppressed, %d deferred, %d left queued, %d undecided (%d requests)",
        channel, report.sent, report.failed, report.suppressed, report.deferred, report.left_queued, report.undecided,
        report.requests,
    )  # fmt: skip
    if report.incomplete:
        reasons = "; ".join(f"{why} ({n})" for why, n in dispatch.unsent_reasons(rt, ids)[:3])
        raise ChunkIncomplete(
            f"{channel}: {report.incomplete} of {len(ids)} messages not sent ({report.left_queued} left queued, "
            f"{report.undecided} awaiting reconciliation): {reasons}",
            report,
        )
    return report
