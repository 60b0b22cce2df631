"""Reminders: queue the day's SMS/email in the outbox."""

from __future__ import annotations

from datetime import date

from prefect import get_run_logger

from arrears.runtime import Runtime
from arrears.steps import messages
from tasks.retry import db_task


@db_task("queue-messages", "queue-messages {as_of}")
def queue_messages(rt: Runtime, as_of: date) -> messages.Queued:
    """Render the day's planned SMS/email into the outbox (keys already there are skipped)."""
    result = messages.queue_day(rt, as_of)
    log = get_run_logger()
    log.info("outbox %s: %d new messages (%d suppressed)", as_of, result.new, result.suppressed)
    if result.over_segment_limit:
        limit = rt.policy.messages.sms_max_segments
        log.warning("%d SMS exceed the policy's limit of %d segments", result.over_segment_limit, limit)
    return result
