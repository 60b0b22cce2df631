"""Reminders: queue the day's SMS/email in the outbox, settle what a crash left behind,
and send in chunks (one task per chunk, never one per message)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from prefect import get_run_logger, runtime, unmapped

from arrears.dispatch import Dispatcher, DispatchReport, RetryRule
from arrears.guarding import screen
from arrears.messaging.compose import compose, letters_carried
from arrears.providers.factory import build_provider, lender_from
from arrears.runtime import Runtime
from arrears.store import outbox
from models.message import QUEUED, SENDING
from tasks.retry import db_task

CHANNELS = ("sms", "email")


def wall_clock() -> datetime:
    return datetime.now(UTC)


@dataclass
class Queued:
    new: int = 0
    suppressed: int = 0
    over_segment_limit: int = 0


@db_task("queue-messages", "queue-messages {as_of}")
def queue_messages(rt: Runtime, as_of: date) -> Queued:
    """Render the day's planned SMS/email into the outbox (keys already there are skipped)."""
    with rt.engine.begin() as conn:
        actions = outbox.actions_to_queue(conn, as_of)
        opted = outbox.suppressed(conn, "sms", (a.contact_phone or a.phone or "" for a in actions))
        opted.update(outbox.suppressed(conn, "email", ((a.email or "").lower() for a in actions)))
        rendered = outbox.rendered_letters(conn, as_of)  # letters are rendered before messages are queued
        carried = letters_carried(actions, rt.policy, rendered)
        letters = {email: (key, rendered[key]) for email, key in carried.items()}
        composed = compose(actions, opted, rt.policy, lender_from(rt.settings), wall_clock(), letters)
        new = outbox.insert_messages(conn, composed.rows)
    result = Queued(new, sum(1 for r in composed.rows if r["reason"]), composed.over_segment_limit)
    log = get_run_logger()
    log.info("outbox %s: %d new messages (%d suppressed)", as_of, result.new, result.suppressed)
    if result.over_segment_limit:
        log.warning(
            "%d SMS exceed the policy's limit of %d segments",
            result.over_segment_limit,
            rt.policy.messages.sms_max_segments,
        )
    return result


def _dispatcher(rt: Runtime, channel: str, guard_now: datetime | None = None) -> Dispatcher:
    """``guard_now``: the clock the guard decides by (a replayed day's); None: the real one, read
    just before each send (so a message planned at 20:59 and sent at 21:01 is deferred)."""
    s = rt.settings
    return Dispatcher(
        rt.engine,
        build_provider(channel, s),
        limiter=rt.limiter(channel),
        retry=RetryRule(s.retry_attempts, s.retry_base_s, s.retry_max_s, s.lookup_delay_s),
        now=wall_clock,
        sleep=time.sleep,
        threads=s.dispatch_threads,
        log=get_run_logger().warning,
        letters_dir=s.resolved_letters_dir,
        screen=lambda conn, rows, now: screen(conn, rows, rt.policy.guard_rules, guard_now or now),
    )


@db_task("settle-outbox", "settle-outbox {channel}")
def settle_outbox(rt: Runtime, channel: str, as_of: date, now: datetime) -> tuple[list[int], DispatchReport]:
    """Reconcile what a crash left `sending`, expire what is too old to send, drop earlier
    days' reminders about loans cured since, and return the ids of messages to send now
    (queued, of this day or earlier days still fresh)."""
    report = DispatchReport()
    with rt.engine.connect() as conn:
        stuck = outbox.ids_in_status(conn, channel, SENDING)
    if stuck:
        settle_after = rt.settings.provider_timeout_s + rt.settings.lookup_delay_s
        report = report + _dispatcher(rt, channel).reconcile(stuck, settle_after)
    cutoff = rt.settings.today(now) - timedelta(days=rt.policy.messages.stale_after_days)
    with rt.engine.begin() as conn:  # after reconciling: a re-queued message of an old day expires too
        report.expired = outbox.expire_stale(conn, channel, cutoff, wall_clock())
        report.suppressed = outbox.suppress_cured(conn, channel, as_of, wall_clock())
        ids = outbox.ids_in_status(conn, channel, QUEUED, as_of, due_by=now)
    if report.expired or report.suppressed or stuck:
        get_run_logger().warning(
            "%s: %d expired unsent, %d of cured loans suppressed; %d left `sending` by an earlier run: "
            "%d found sent, %d re-queued, %d held",
            channel, report.expired, report.suppressed, len(stuck), report.recovered, report.requeued, report.held,
        )  # fmt: skip
    return ids, report


def _send_run_name() -> str:
    params = runtime.task_run.parameters
    ids = params["ids"]
    return f"send {params['channel']} #{ids[0]}..#{ids[-1]} ({len(ids)} messages)"


@db_task("send-messages", _send_run_name)
def send_messages(rt: Runtime, channel: str, ids: list[int], now: datetime | None = None) -> DispatchReport:
    """Send one chunk through the provider's SDK. Every chunk of the run draws on the same
    per-provider token bucket, so the configured rate holds across concurrent tasks."""
    report = _dispatcher(rt, channel, now).send(ids)
    get_run_logger().info(
        "%s: %d sent, %d failed, %d suppressed, %d deferred, %d left queued, %d undecided (%d requests)",
        channel, report.sent, report.failed, report.suppressed, report.deferred, report.left_queued, report.undecided,
        report.requests,
    )  # fmt: skip
    return report


def chunks(ids: list[int], size: int) -> list[list[int]]:
    return [ids[i : i + size] for i in range(0, len(ids), size)]


def send_outbox(rt: Runtime, day: date, clock: datetime, now: datetime | None) -> DispatchReport:
    """Settle and send every channel's queued messages that are due by ``clock``, in chunks
    (not a task: it orders the settle and send tasks). ``now``: the guard's clock (None: real)."""
    dispatched = DispatchReport()
    sends = []
    for channel in CHANNELS:
        ids, settled = settle_outbox(rt, channel, day, clock)
        dispatched = dispatched + settled
        parts = chunks(ids, rt.settings.dispatch_chunk)
        sends.append(send_messages.map(unmapped(rt), unmapped(channel), parts, unmapped(now)))
    for futures in sends:
        for report in futures.result():
            dispatched = dispatched + report
    return dispatched
