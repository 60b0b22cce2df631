from __future__ import annotations

from datetime import date

from prefect import get_run_logger

from arrears.runtime import Runtime
from arrears.store.summary import planned_by_channel
from tasks.retry import db_task


@db_task("hand-to-channels", "hand-to-channels {as_of}")
def hand_to_channels(rt: Runtime, as_of: date) -> dict[str, int]:
    """Hand the day's planned actions to their channels.

    SMS and email become outbox messages (``queue-messages``); letters, call queues and
    legal escalation consume the ``planned`` rows by key. Returns the planned actions per channel.
    """
    with rt.engine.connect() as conn:
        waiting = planned_by_channel(conn, as_of)
    get_run_logger().info("planned actions per channel: %s", waiting or "none")
    return waiting
