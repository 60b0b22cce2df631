"""Send the outbox: settle each channel, then its due messages in chunks (orchestration shared
by the daily and the dispatch flows)."""

from __future__ import annotations

from datetime import date

from prefect import unmapped

from arrears.runtime import Runtime
from arrears.steps.dispatch import chunks
from arrears.steps.sender import DispatchReport
from tasks.dispatch import send_messages, settle_outbox

CHANNELS = ("sms", "email")


class DispatchIncomplete(RuntimeError):
    """Some of the day's messages could not be sent; a re-trigger sends exactly the rest."""


def send_outbox(rt: Runtime, day: date) -> DispatchReport:
    """Settle and send every channel's queued messages that are due at the run's clock, one task
    per ``dispatch_chunk`` messages; the channels' chunks run side by side."""
    dispatched = DispatchReport()
    sends = []
    for channel in CHANNELS:
        ids, settled = settle_outbox(rt, channel, day)
        dispatched = dispatched + settled
        parts = chunks(ids, rt.settings.dispatch_chunk)
        sends.append(send_messages.map(unmapped(rt), unmapped(channel), parts))
    for futures in sends:
        for report in futures.result():
            dispatched = dispatched + report
    return dispatched
