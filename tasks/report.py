from __future__ import annotations

from datetime import date
from typing import Any, TypeVar

from prefect import get_run_logger
from prefect.artifacts import (
    create_link_artifact,
    create_markdown_artifact,
    create_progress_artifact,
    create_table_artifact,
    update_progress_artifact,
)
from prefect.futures import PrefectFuture, as_completed

from arrears.runtime import Runtime
from arrears.store.reports import recovery_by_stage, roll_rates
from arrears.store.summary import DaySummary, read_day_summary
from arrears.summary import render_summary
from tasks.messages import wall_clock
from tasks.retry import db_task

R = TypeVar("R")


@db_task("summary", "summary {as_of}")
def publish_summary(rt: Runtime, as_of: date, new_actions: int = 0, sent_in_run: int = 0) -> DaySummary:
    """Read the whole day back from the database and publish it as a markdown artifact, with
    the roll-rate matrix and the recovery by stage since the previous run day as tables."""
    with rt.engine.connect() as conn:
        summary = read_day_summary(conn, as_of)
        prev, rolls = roll_rates(conn, as_of)
        _, recovery = recovery_by_stage(conn, as_of)
    summary.new_actions = new_actions
    summary.sent_in_run = sent_in_run
    summary.dry_run = rt.settings.dry_run
    create_markdown_artifact(
        key="collection-summary",
        markdown=render_summary(summary, rt.policy),
        description=f"Collection run {as_of}: counts by stage and risk, overdue totals, actions planned",
    )
    if prev is not None:
        stages = rt.policy.stage_rules.names
        create_table_artifact(
            key="roll-rates",
            table=[
                {
                    "from": a,
                    **{b: rolls.get((a, b), 0) for b in stages},
                    "loans": sum(rolls.get((a, b), 0) for b in stages),
                }
                for a in stages
            ],
            description=f"Loans by stage on {prev} (rows) and on {as_of} (columns)",
        )
        create_table_artifact(
            key="recovery-by-stage",
            table=[
                {
                    "stage": r.stage,
                    "currency": r.currency,
                    "loans": r.loans,
                    "overdue": str(r.overdue),
                    "recovered": str(r.recovered),
                    "rate": f"{r.rate:.2%}",
                }
                for r in recovery
            ],
            description=f"Paid {prev} (excl.) .. {as_of} by the loans overdue on {prev}, capped at their overdue",
        )
    return summary


@db_task("report", "report {as_of}")
def write_day_report(rt: Runtime, as_of: date) -> str:
    """The collections report for the 30 days to ``as_of`` (HTML + PDF with charts), linked as
    an artifact of the run. Returns the PDF's path."""
    from arrears.reports.build import write_report

    files = write_report(rt.engine, rt.policy, rt.settings.resolved_reports_dir, as_of, now=wall_clock())
    create_link_artifact(
        key="collections-report",
        link=files.html.as_uri(),
        link_text=f"Collections report to {as_of} (HTML; the PDF is beside it: {files.pdf.name})",
        description="Stages, roll rates, recovery, cure and promise-kept rates, contacts per cure, suppressions",
    )
    get_run_logger().info("report: %s", files.pdf)
    return str(files.pdf)


def with_progress(futures: list[PrefectFuture[R]], key: str, what: str) -> list[R]:
    """Wait for a mapped step, showing its progress in the UI (a progress artifact updated as each
    batch finishes); the results come back in the order of ``futures``. A failed batch raises."""
    if not futures:
        return []
    artifact = create_progress_artifact(0.0, key=key, description=f"{what}: 0 of {len(futures)} batches")
    done = 0
    for _ in as_completed(futures):
        done += 1
        update_progress_artifact(artifact, 100.0 * done / len(futures), f"{what}: {done} of {len(futures)} batches")
    results: list[Any] = [f.result() for f in futures]
    return results
