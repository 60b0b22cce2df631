from __future__ import annotations

from datetime import date

from prefect.artifacts import create_markdown_artifact

from arrears.runtime import Runtime
from arrears.store.summary import DaySummary, read_day_summary
from arrears.summary import render_summary
from tasks.retry import db_task


@db_task("summary", "summary {as_of}")
def publish_summary(rt: Runtime, as_of: date, new_actions: int = 0, sent_in_run: int = 0) -> DaySummary:
    """Read the whole day back from the database and publish it as a markdown artifact."""
    with rt.engine.connect() as conn:
        summary = read_day_summary(conn, as_of)
    summary.new_actions = new_actions
    summary.sent_in_run = sent_in_run
    summary.dry_run = rt.settings.dry_run
    create_markdown_artifact(
        key="collection-summary",
        markdown=render_summary(summary, rt.policy),
        description=f"Collection run {as_of}: counts by stage and risk, overdue totals, actions planned",
    )
    return summary
