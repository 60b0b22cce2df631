"""The day's summary, read back from the database so it reflects the whole day (also after a
retry or a second run): the markdown artifact, and the roll-rate and recovery tables comparing
the day with the previous run day."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from arrears.reports.day import DaySummary
from arrears.reports.summary import recovery_table, render_summary, roll_rate_table
from arrears.runtime import Runtime
from arrears.store.reports import recovery_by_stage, roll_rates
from arrears.store.summary import read_day_summary


@dataclass(frozen=True)
class DayReport:
    summary: DaySummary
    markdown: str
    prev: date | None  # the previous run day (None on the first day: no tables)
    roll_rates: list[dict[str, Any]]
    recovery: list[dict[str, Any]]


def summarise_day(
    rt: Runtime,
    as_of: date,
    new_actions: int = 0,
    sent_in_run: int = 0,
    incomplete: dict[str, int] | None = None,
    flow_run_id: str | None = None,
    retry_command: str | None = None,
    deployed: bool = False,
) -> DayReport:
    with rt.engine.connect() as conn:
        summary = read_day_summary(conn, as_of)
        prev, rolls = roll_rates(conn, as_of)
        _, recovery = recovery_by_stage(conn, as_of)
    summary.new_actions = new_actions
    summary.sent_in_run = sent_in_run
    summary.dry_run = rt.settings.dry_run
    summary.incomplete = dict(incomplete or {})
    summary.flow_run_id = flow_run_id
    summary.retry_command = retry_command
    summary.deployed = deployed
    return DayReport(
        summary,
        render_summary(summary, rt.policy),
        prev,
        roll_rate_table(rolls, rt.policy.stage_rules.names),
        recovery_table(recovery),
    )
