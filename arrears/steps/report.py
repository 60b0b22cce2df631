"""The collections report: the figures of a range of run days read from the database, then
written as HTML and PDF with charts (``arrears report``, and the daily run's ``report`` step)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import Engine

from arrears.faults import crash_point
from arrears.policy import Policy
from arrears.reports.build import DEFAULT_DAYS, Letterhead, ReportFigures, ReportFiles, write_report
from arrears.reports.published import report_link, report_markdown
from arrears.runtime import Runtime
from arrears.settings import Settings
from arrears.steps.experiments import latest, results
from arrears.store import metrics
from arrears.store.reports import recovery_by_stage, roll_rates


def report_figures(
    engine: Engine, policy: Policy, last: date, first: date | None = None, settings: Settings | None = None
) -> ReportFigures:
    """The period's figures; with ``settings`` (contact costs) the latest experiment's results too."""
    first = first or last - timedelta(days=DEFAULT_DAYS - 1)
    if first > last:
        raise ValueError(f"the report starts ({first}) after it ends ({last})")
    with engine.connect() as conn:
        series = metrics.stage_series(conn, first, last)
        prev, matrix = roll_rates(conn, last)
        start = min(series) if series else None  # the first run day of the period
        _, recovery = recovery_by_stage(conn, last, since=start) if start and start < last else (None, [])
        exp = latest(policy, last) if settings is not None else None
        trial = results(conn, policy, settings, exp, last) if exp is not None and settings is not None else None
        return ReportFigures(
            first=first,
            last=last,
            stages=list(policy.stage_rules.names),
            series=series,
            prev=prev,
            matrix=matrix,
            recovery=recovery,
            cures=metrics.cures(conn, first, last),
            promises=metrics.promise_verdicts(conn, first, last),
            per_cure=metrics.contacts_per_cure(conn, first, last),
            suppressed=metrics.suppression_reasons(conn, first, last),
            experiment=trial,
        )


def letterhead(settings: Settings) -> Letterhead:
    return Letterhead(settings.lender_name_en, settings.lender_logo)


def write_range_report(
    engine: Engine, policy: Policy, settings: Settings, last: date, first: date | None, now: datetime
) -> ReportFiles:
    figures = report_figures(engine, policy, last, first, settings)
    return write_report(figures, settings.resolved_reports_dir, now, letterhead(settings))


@dataclass(frozen=True)
class DayReport:
    files: ReportFiles
    link: str  # served URL, or the local file
    markdown: str  # the figures, for the run's artifact


def write_day_report(rt: Runtime, as_of: date) -> DayReport:
    """The report for the 30 days to ``as_of``, and its figures as markdown."""
    s = rt.settings
    figures = report_figures(rt.engine, rt.policy, as_of, settings=s)
    files = write_report(figures, s.resolved_reports_dir, rt.clock.wall(), letterhead(s))
    crash_point("report.written")
    link = report_link(files, s.resolved_reports_dir, s.reports_base_url)
    return DayReport(files, link, report_markdown(figures, files, link, s.lender_name_en))
