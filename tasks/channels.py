from __future__ import annotations

from datetime import date

from prefect import get_run_logger
from sqlalchemy import Date, bindparam, text

from arrears.runtime import Runtime
from tasks.retry import db_task


@db_task("hand-to-channels", "hand-to-channels {as_of}")
def hand_to_channels(rt: Runtime, as_of: date) -> dict[str, int]:
    """Hand the day's planned actions to their channels.

    SMS/email dispatch, letters, call queues and legal escalation consume the
    ``planned`` rows by key; until a channel is enabled its actions stay planned.
    Returns the number of planned actions waiting per channel.
    """
    with rt.engine.connect() as conn:
        waiting = dict(
            conn.execute(
                text(
                    "SELECT channel, COUNT(*) FROM collection_action WHERE as_of = :d AND status = 'planned'"
                    " GROUP BY channel"
                ).bindparams(bindparam("d", type_=Date())),
                {"d": as_of},
            ).all()
        )
    get_run_logger().info("planned actions waiting per channel: %s", waiting or "none")
    return waiting
