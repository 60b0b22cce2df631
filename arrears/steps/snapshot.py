"""Freeze the day's work list: the loan book cut into id ranges of ``batch_size`` loans."""

from __future__ import annotations

from arrears.runtime import Runtime
from arrears.store.book import Batch, loan_batches


def snapshot(rt: Runtime) -> list[Batch]:
    return loan_batches(engine=rt.engine, size=rt.settings.batch_size)
