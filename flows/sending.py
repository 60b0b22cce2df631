"""Send the outbox: settle each channel, then its due messages in chunks (orchestration shared
by the daily and the dispatch flows)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from prefect import unmapped

from arrears.runtime import Runtime
from arrears.steps.dispatch import chunks
from arrears.steps.sender import DispatchReport
from tasks.dispatch import ChunkIncomplete, send_messages, settle_outbox

CHANNELS = ("sms", "email")


class DispatchIncomplete(RuntimeError):
    """Some of the day's messages could not be sent; a re-trigger sends exactly the rest."""


@dataclass
class Dispatched:
    """What a run's dispatch did, per channel."""

    by_channel: dict[str, DispatchReport] = field(default_factory=dict)

    @property
    def total(self) -> DispatchReport:
        total = DispatchReport()
        for report in self.by_channel.values():
            total = total + report
        return total

    @property
    def incomplete(self) -> dict[str, int]:
        return {c: r.incomplete for c, r in self.by_channel.items()}


def send_outbox(rt: Runtime, day: date) -> Dispatched:
    """Settle and send every channel's queued messages that are due at the run's clock, one task
    per ``dispatch_chunk`` messages; the channels' chunks run side by side. A chunk that could not
    send all its messages ends Failed (so the run's graph points at it); its counts still add up here."""
    dispatched = Dispatched()
    sends = {}
    for channel in CHANNELS:
        ids, settled = settle_outbox(rt, channel, day)
        dispatched.by_channel[channel] = settled
        sends[channel] = send_messages.map(unmapped(rt), unmapped(channel), chunks(ids, rt.settings.dispatch_chunk))
    for channel, futures in sends.items():
        for future in futures:
            outcome = future.result(raise_on_failure=False)
            if isinstance(outcome, ChunkIncomplete):
                outcome = outcome.report
            elif isinstance(outcome, BaseException):
                raise outcome
            dispatched.by_channel[channel] = dispatched.by_channel[channel] + outcome
    return dispatched
