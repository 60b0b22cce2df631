"""Call queues: the day's planned calls, ordered by risk and amount, dealt to the collectors."""

from __future__ import annotations

from collections import Counter
from datetime import date

from arrears.cases.calls import assign_calls
from arrears.faults import crash_point
from arrears.runtime import Runtime
from arrears.store.calls import calls_to_queue, insert_calls, queued_per_collector
from arrears.store.experiments import stamp_arms


def queue_day(rt: Runtime, as_of: date) -> dict[str, int]:
    """New call tasks per collector (a re-run appends to the queues without reshuffling them)."""
    s = rt.settings
    with rt.engine.begin() as conn:
        candidates = calls_to_queue(conn, as_of)
        if not candidates:
            return {}
        queued = assign_calls(
            candidates, s.collectors, s.call_assignment, s.collector_regions, queued_per_collector(conn, as_of)
        )
        insert_calls(conn, as_of, queued, rt.clock.wall())
        stamp_arms(conn, "call_task", as_of)
    crash_point("calls.queued")
    return dict(Counter(q.collector for q in queued))
