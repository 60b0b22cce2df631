"""Demand letters: lay out the day's planned letters in chunks over a process pool, archive
them, and hand the new ones to the mail house as one print-ready batch."""

from __future__ import annotations

from datetime import date

from prefect import get_run_logger
from prefect.artifacts import create_link_artifact

from arrears.letters.produce import (
    LetterRun,
    PrintBatch,
    assemble_print_batch,
    facts_for,
    render_letters,
)
from arrears.runtime import Runtime
from arrears.store import letters as store
from tasks.messages import wall_clock
from tasks.retry import db_task


@db_task("render-letters", "render-letters {as_of}")
def render_day_letters(rt: Runtime, as_of: date) -> LetterRun:
    """A PDF for every planned letter of the day that has none yet (a failed one is tried again)."""
    with rt.engine.connect() as conn:
        letters = [facts_for(src, rt.policy) for src in store.letters_to_render(conn, as_of)]
    if not letters:
        return LetterRun()
    run = render_letters(engine=rt.engine, policy=rt.policy, settings=rt.settings, letters=letters, now=wall_clock)
    log = get_run_logger()
    log.info(
        "letters %s: %d rendered (%d pages, %.1f MB), %d failed; %.1f s of layout, worker peak %.0f MB",
        as_of,
        run.rendered,
        run.pages,
        run.bytes / 1e6,
        run.failed,
        run.seconds,
        run.peak_rss_mb,
    )
    for failure in run.failures[:20]:
        log.warning("letter not produced: %s", failure)
    return run


@db_task("mailhouse-batch", "mailhouse-batch {as_of}")
def mailhouse_batch(rt: Runtime, as_of: date) -> PrintBatch | None:
    """The day's new letters as one print-ready PDF with a CSV manifest for the mail house."""
    batch = assemble_print_batch(engine=rt.engine, settings=rt.settings, as_of=as_of, now=wall_clock)
    if batch is not None:
        get_run_logger().info("mail-house batch %s: %d letters, %d pages", batch.name, batch.letters, batch.pages)
        create_link_artifact(
            key="print-batch",
            link=batch.pdf.resolve().as_uri(),
            link_text=f"{batch.name}: {batch.letters} letters, {batch.pages} pages (manifest: {batch.manifest.name})",
            description=f"The mail-house batch of {as_of}: print-ready PDF beside its CSV manifest",
        )
    return batch
