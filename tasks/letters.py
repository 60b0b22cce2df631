"""Demand letters: lay out the day's planned letters in chunks over a process pool, archive
them, and hand the new ones to the mail house as one print-ready batch."""

from __future__ import annotations

from datetime import date
from typing import Any

from prefect import get_run_logger
from prefect.artifacts import create_link_artifact

from arrears.letters.mailhouse import PrintBatch
from arrears.letters.pdf import ArchiveUnwritable
from arrears.runtime import Runtime
from arrears.steps import letters
from tasks.retry import db_task


class LettersIncomplete(RuntimeError):
    """Letters could not be archived (a full disk, a read-only folder): the step ends Failed, the
    rest of the day goes on, and the run ends Failed naming the folder; a re-run renders the rest."""


@db_task("render-letters", "render-letters {as_of}")
def render_day_letters(rt: Runtime, as_of: date) -> letters.LetterRun:
    """A PDF for every planned letter of the day that has none yet (a failed one is tried again)."""
    run = letters.render_day(rt, as_of)
    if run.unwritable:
        get_run_logger().error("letters %s: %d not produced: %s", as_of, run.failed, run.unwritable)
        raise LettersIncomplete(f"{run.failed} letters not produced: {run.unwritable.partition(': ')[2]}")
    if not (run.rendered or run.failed):
        return run
    log = get_run_logger()
    log.info(
        "letters %s: %d rendered (%d pages, %.1f MB), %d failed; %.1f s of layout, worker peak %.0f MB",
        as_of, run.rendered, run.pages, run.bytes / 1e6, run.failed, run.seconds, run.peak_rss_mb,
    )  # fmt: skip
    for failure in run.failures[:20]:
        log.warning("letter not produced: %s", failure)
    return run


@db_task("mailhouse-batch", "mailhouse-batch {as_of}")
def mailhouse_batch(rt: Runtime, as_of: date) -> PrintBatch | None:
    """The day's new letters as one print-ready PDF with a CSV manifest for the mail house."""
    try:
        batch = letters.mailhouse_batch(rt, as_of)
    except ArchiveUnwritable as err:  # nothing marked printed: the next run makes the batch
        get_run_logger().error("mail-house batch %s not written: %s", as_of, err)
        raise LettersIncomplete(f"mail-house batch not written: {err}") from None
    if batch is not None:
        get_run_logger().info("mail-house batch %s: %d letters, %d pages", batch.name, batch.letters, batch.pages)
        create_link_artifact(
            key="print-batch",
            link=batch.pdf.resolve().as_uri(),
            link_text=f"{batch.name}: {batch.letters} letters, {batch.pages} pages (manifest: {batch.manifest.name})",
            description=f"The mail-house batch of {as_of}: print-ready PDF beside its CSV manifest",
        )
    return batch


def archive_problems(states: list[Any]) -> list[str]:
    """What the letter steps could not archive (from their final states); any other failure is raised."""
    problems = []
    for state in states:
        if state.is_failed():
            error = state.result(raise_on_failure=False)
            if not isinstance(error, LettersIncomplete):
                raise error
            problems.append(str(error))
    return problems
