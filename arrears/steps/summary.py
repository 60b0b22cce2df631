"""The day's summary, read back from the database so it reflects the whole day (also after a
retry or a second run): the markdown artifact, and the roll-rate and recovery tables comparing
the day with the previous run day."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from arrears.faults import crash_point
from arrears.reports.day import DaySummary, RunFacts
from arrears.reports.experiments import ExperimentResult, result_markdown
from arrears.reports.summary import recovery_table, render_summary, roll_rate_table
from arrears.runtime import Runtime
from arrears.steps.experiments import latest, results
from arrears.store.reports import recovery_by_stage, roll_rates
from arrears.store.summary import read_day_summary


@dataclass(frozen=True)
class DayReport:
    summary: DaySummary
    markdown: str
    prev: date | None  # the previous run day (None on the first day: no tables)
    roll_rates: list[dict[str, Any]]
    recovery: list[dict[str, Any]]
    experiment: ExperimentResult | None = None  # the running (or last) champion/challenger experiment


def summarise_day(rt: Runtime, as_of: date, run: RunFacts | None = None) -> DayReport:
    crash_point("summary.start")
    exp = latest(rt.policy, as_of)
    with rt.engine.connect() as conn:
        summary = read_day_summary(conn, as_of)
        prev, rolls = roll_rates(conn, as_of)
        _, recovery = recovery_by_stage(conn, as_of)
        trial = results(conn, rt.policy, rt.settings, exp, as_of) if exp is not None else None
    summary.take(run or RunFacts())
    summary.dry_run = rt.settings.dry_run
    markdown = render_summary(summary, rt.policy) + (f"\n{result_markdown(trial)}" if trial else "")
    return DayReport(
        summary,
        markdown,
        prev,
        roll_rate_table(rolls, rt.policy.stage_rules.names),
        recovery_table(recovery),
        trial,
    )
