"""Freeze the day's work list: the loan book cut into id ranges of ``batch_size`` loans."""

from __future__ import annotations

from arrears.faults import crash_point
from arrears.runtime import Runtime
from arrears.store.book import Batch, loan_batches


def snapshot(rt: Runtime) -> list[Batch]:
    batches = loan_batches(engine=rt.engine, size=rt.settings.batch_size)
    crash_point("snapshot.done")
    return batches
