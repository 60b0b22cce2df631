"""Demand letters: lay out the day's planned letters in chunks over a process pool, archive
them, and hand the new ones to the mail house as one print-ready batch."""

from __future__ import annotations

from datetime import UTC, date, datetime

from prefect import get_run_logger

from arrears.letters.produce import (
    LetterRun,
    PrintBatch,
    assemble_print_batch,
    render_letters,
    sources_to_facts,
)
from arrears.runtime import Runtime
from arrears.store import letters as store
from tasks.retry import db_task


def wall_clock() -> datetime:
    return datetime.now(UTC)


@db_task("render-letters", "render-letters {as_of}")
def render_day_letters(rt: Runtime, as_of: date) -> LetterRun:
    """A PDF for every planned letter of the day that has none yet (a failed one is tried again)."""
    with rt.engine.connect() as conn:
        letters = sources_to_facts(store.letters_to_render(conn, as_of), rt.policy)
    if not letters:
        return LetterRun()
    run = render_letters(engine=rt.engine, policy=rt.policy, settings=rt.settings, letters=letters, now=wall_clock)
    log = get_run_logger()
    log.info(
        "letters %s: %d rendered (%d pages, %.1f MB), %d failed",
        as_of,
        run.rendered,
        run.pages,
        run.bytes / 1e6,
        run.failed,
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
    return batch
