"""Hand the day's planned actions to their channels: SMS and email become outbox messages
(``queue-messages``); letters, call queues and legal escalation consume the ``planned`` rows by key."""

from __future__ import annotations

from datetime import date

from arrears.faults import crash_point
from arrears.runtime import Runtime
from arrears.store.summary import planned_by_channel


def planned_per_channel(rt: Runtime, as_of: date) -> dict[str, int]:
    with rt.engine.connect() as conn:
        handed = planned_by_channel(conn, as_of)
    crash_point("channels.handed")
    return handed
