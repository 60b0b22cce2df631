from __future__ import annotations

from datetime import date

from prefect import get_run_logger

from arrears.runtime import Runtime
from arrears.store.book import Batch, loan_batches
from tasks.retry import db_task


@db_task("snapshot", "snapshot {as_of}")
def snapshot_book(rt: Runtime, as_of: date) -> list[Batch]:
    """Freeze the day's work list: the loan book cut into id ranges of ``batch_size`` loans."""
    batches = loan_batches(engine=rt.engine, size=rt.settings.batch_size)
    loans = sum(b.loans for b in batches)
    get_run_logger().info("book for %s: %d loans in %d batches", as_of, loans, len(batches))
    return batches
