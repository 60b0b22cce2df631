from __future__ import annotations

from datetime import date

from prefect import get_run_logger
from prefect.artifacts import create_link_artifact, create_markdown_artifact

from arrears.runtime import Runtime
from arrears.steps.report import write_day_report as write_report
from tasks.retry import db_task


@db_task("report", "report {as_of}")
def write_day_report(rt: Runtime, as_of: date) -> str:
    """The collections report for the 30 days to ``as_of`` (HTML + PDF with charts), linked as
    an artifact of the run (served by ``arrears server`` when ``reports_base_url`` is set), and
    its figures as a markdown artifact. Returns the PDF's path."""
    report = write_report(rt, as_of)
    create_link_artifact(
        key="collections-report",
        link=report.link,
        link_text=f"Collections report to {as_of} (HTML; the PDF is beside it: {report.files.pdf.name})",
        description="Stages, roll rates, recovery, cure and promise-kept rates, contacts per cure, suppressions",
    )
    create_markdown_artifact(
        key="collections-report-figures",
        markdown=report.markdown,
        description=f"The collections report's figures to {as_of}, readable in the UI from any machine",
    )
    get_run_logger().info("report: %s", report.files.pdf)
    return str(report.files.pdf)
