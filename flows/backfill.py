"""Replay a range of days in order: one daily-collection subflow per day.

A day already run is re-run safely (its keys exist: nothing is planned, sent, printed or
escalated twice). Messages of a replayed day older than the policy's staleness limit are
expired, not sent late (``now`` is the clock, default the real one).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from prefect import flow, get_run_logger

from arrears.reports.day import DaySummary
from flows.daily import daily_collection


def days_between(first: date, last: date) -> list[date]:
    if last < first:
        raise ValueError(f"the range ends ({last}) before it starts ({first})")
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


@flow(name="backfill", flow_run_name="backfill-{first}..{last}", log_prints=False)
def backfill(first: date, last: date, now: datetime | None = None, dry_run: bool = False) -> list[DaySummary]:
    """Run the daily collection for every day from ``first`` to ``last``, oldest first;
    stops at the first day that fails (later days depend on it: promises, cases, stages)."""
    summaries = []
    for day in days_between(first, last):
        summaries.append(daily_collection(as_of=day, now=now, dry_run=dry_run))
    get_run_logger().info("backfill %s..%s: %d days", first, last, len(summaries))
    return summaries
