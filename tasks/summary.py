from __future__ import annotations

from datetime import date

from prefect.artifacts import create_markdown_artifact, create_table_artifact

from arrears.reports.day import DaySummary, RunFacts
from arrears.reports.experiments import result_table
from arrears.runtime import Runtime
from arrears.steps.summary import summarise_day
from tasks.retry import db_task


@db_task("summary", "summary {as_of}")
def publish_summary(rt: Runtime, as_of: date, run: RunFacts | None = None) -> DaySummary:
    """Read the whole day back from the database and publish it as a markdown artifact, with
    the roll-rate matrix and the recovery by stage since the previous run day as tables. Its
    first line says whether the day did its work (``run``: what only this run knows)."""
    day = summarise_day(rt, as_of, run)
    create_markdown_artifact(
        key="collection-summary",
        markdown=day.markdown,
        description=f"Collection run {as_of}: counts by stage and risk, overdue totals, actions planned",
    )
    if day.prev is not None:
        create_table_artifact(
            key="roll-rates",
            table=day.roll_rates,
            description=f"Loans by stage on {day.prev} (rows) and on {as_of} (columns)",
        )
        create_table_artifact(
            key="recovery-by-stage",
            table=day.recovery,
            description=(
                f"Paid {day.prev} (excl.) .. {as_of} by the loans overdue on {day.prev}, capped at their overdue"
            ),
        )
    if day.experiment is not None:
        create_table_artifact(
            key="experiment-results",
            table=result_table(day.experiment),
            description=f"Experiment {day.experiment.name} on {as_of}: " + " | ".join(day.experiment.verdicts),
        )
    return day.summary
