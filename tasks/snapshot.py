from __future__ import annotations

from datetime import date

from prefect import get_run_logger

from arrears.runtime import Runtime
from arrears.steps.snapshot import snapshot
from arrears.store.book import Batch
from tasks.retry import db_task


@db_task("snapshot", "snapshot {as_of}")
def snapshot_book(rt: Runtime, as_of: date) -> list[Batch]:
    """Freeze the day's work list: the loan book cut into id ranges of ``batch_size`` loans."""
    batches = snapshot(rt)
    get_run_logger().info("book for %s: %d loans in %d batches", as_of, sum(b.loans for b in batches), len(batches))
    return batches
