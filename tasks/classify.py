from __future__ import annotations

from datetime import date

from arrears.runtime import Runtime
from arrears.steps import classify
from arrears.store.book import Batch
from tasks.retry import db_task


@db_task("classify", "classify {batch.label}")
def classify_batch(rt: Runtime, batch: Batch, as_of: date) -> classify.ClassifySummary:
    """Compute and store the day's position (DPD, overdue, stage, risk) of every loan in the batch; on an
    incremental day, only of those whose position may have changed since the previous run day."""
    return classify.classify_batch(rt, batch, as_of, classify.incremental_base(rt, as_of))
