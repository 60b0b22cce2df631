from __future__ import annotations

from datetime import date

from prefect import get_run_logger

from arrears.runtime import Runtime
from arrears.steps.channels import planned_per_channel
from tasks.retry import db_task


@db_task("hand-to-channels", "hand-to-channels {as_of}")
def hand_to_channels(rt: Runtime, as_of: date) -> dict[str, int]:
    """Hand the day's planned actions to their channels; returns the planned actions per channel."""
    waiting = planned_per_channel(rt, as_of)
    get_run_logger().info("planned actions per channel: %s", waiting or "none")
    return waiting
