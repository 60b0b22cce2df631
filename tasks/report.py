from __future__ import annotations

from datetime import date

from prefect import get_run_logger
from prefect.artifacts import create_link_artifact

from arrears.runtime import Runtime
from arrears.steps.report import write_day_report as write_report
from tasks.retry import db_task


@db_task("report", "report {as_of}")
def write_day_report(rt: Runtime, as_of: date) -> str:
    """The collections report for the 30 days to ``as_of`` (HTML + PDF with charts), linked as
    an artifact of the run. Returns the PDF's path."""
    files = write_report(rt, as_of)
    create_link_artifact(
        key="collections-report",
        link=files.html.as_uri(),
        link_text=f"Collections report to {as_of} (HTML; the PDF is beside it: {files.pdf.name})",
        description="Stages, roll rates, recovery, cure and promise-kept rates, contacts per cure, suppressions",
    )
    get_run_logger().info("report: %s", files.pdf)
    return str(files.pdf)
