from __future__ import annotations

from datetime import date

from prefect import task
from prefect.cache_policies import NO_CACHE

from arrears.daywork import ClassifySummary, classify_loans
from arrears.runtime import Runtime
from arrears.store.book import Batch
from tasks.retry import transient_io


@task(
    name="classify",
    task_run_name="classify {batch.label}",
    cache_policy=NO_CACHE,
    retries=2,
    retry_delay_seconds=[5, 30],
    retry_condition_fn=transient_io,
)
def classify_batch(rt: Runtime, batch: Batch, as_of: date) -> ClassifySummary:
    """Compute and store the day's position (DPD, overdue, stage, risk) of every loan in the batch."""
    return rt.pool.submit(
        classify_loans, rt.url, rt.policy_path, batch.first_loan_id, batch.last_loan_id, as_of
    ).result()
