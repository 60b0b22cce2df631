from __future__ import annotations

from datetime import date

from arrears.daywork import ClassifySummary, classify_loans
from arrears.runtime import Runtime
from arrears.store.book import Batch
from tasks.retry import db_task


@db_task("classify", "classify {batch.label}")
def classify_batch(rt: Runtime, batch: Batch, as_of: date) -> ClassifySummary:
    """Compute and store the day's position (DPD, overdue, stage, risk) of every loan in the batch."""
    return rt.pool.submit(
        classify_loans, rt.url, rt.policy_path, batch.first_loan_id, batch.last_loan_id, as_of
    ).result()
