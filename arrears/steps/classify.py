"""Classify: every loan's position on the day (DPD, overdue breakdown, stage, risk), batch by batch
in the runtime's process pool; and, for ``arrears loans``, the positions of a day as stored or
computed on the fly."""

from __future__ import annotations

import gc
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import Engine

from arrears.cases.promises import broken_statuses
from arrears.engine import position_for
from arrears.faults import crash_point
from arrears.money import from_cents
from arrears.policy import Policy
from arrears.runtime import Runtime, worker_engine, worker_policy
from arrears.store.book import Batch, loan_batches, loan_versions, loans_to_compute, read_books, stage_loans
from arrears.store.positions import day_was_run, incremental_since, replace_positions, stored_positions
from arrears.store.promises import broken_promise_counts

PARTS = ("principal", "interest", "penalty", "fees", "total")


@dataclass(frozen=True)
class ClassifySummary:
    loans: int
    by_stage: Counter[str]  # of the loans computed
    kept: int = 0  # loans whose position of the previous run day still holds (an incremental day)


def incremental_base(rt: Runtime, as_of: date) -> date | None:
    """The previous run day whose positions an incremental day may keep (``ARREARS_INCREMENTAL``), or
    None: a full day (the first, or the policy changed since: positions computed under another
    policy are not kept)."""
    if not rt.settings.incremental:
        return None
    with rt.engine.connect() as conn:
        return incremental_since(conn, as_of, rt.policy.fingerprint)


def classify_batch(rt: Runtime, batch: Batch, as_of: date, since: date | None = None) -> ClassifySummary:
    """The batch classified in a worker of the runtime's pool (picklable arguments only); ``since``:
    the previous run day whose positions unchanged loans keep."""
    future = rt.pool.submit(
        classify_loans, rt.url, rt.policy_path, batch.first_loan_id, batch.last_loan_id, as_of, since
    )
    return future.result()


@contextmanager
def _no_cyclic_gc() -> Iterator[None]:
    """Pause the cyclic garbage collector while a batch builds millions of small,
    acyclic objects (freed by reference counting anyway): its repeated full scans
    cost a third of the batch time on 25,000 loans."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def classify_loans(
    url: str, policy_path: str | None, first_loan_id: int, last_loan_id: int, as_of: date, since: date | None = None
) -> ClassifySummary:
    """Snapshot the book of loans ``first..last``, classify them, replace their positions for ``as_of``.
    With ``since`` (an incremental day) only the loans whose position may have changed since that
    run day are computed (``loans_to_compute``); the others keep theirs."""
    policy = worker_policy(policy_path)
    broken = broken_statuses(policy.promises.partial_counts_as_broken)
    with _no_cyclic_gc(), worker_engine(url).begin() as conn:
        versions = loan_versions(conn, first_loan_id, last_loan_id)
        if since is not None:
            todo = loans_to_compute(conn, first_loan_id, last_loan_id, since, as_of, policy.stages.pre_due_days)
            stage_loans(conn, todo)
        books = read_books(conn, first_loan_id, last_loan_id, as_of, staged=since is not None)
        counts = broken_promise_counts(conn, first_loan_id, last_loan_id, as_of, broken)
        rows = [position_for(book, as_of, policy, counts.get(book.loan_id, 0)) for book in books]
        crash_point("classify.computed")  # inside the batch's transaction: nothing of it is written
        replace_positions(conn, as_of, first_loan_id, last_loan_id, rows, versions, copy_from=since)
    crash_point("classify.written")
    kept = len(versions) - len(rows) if since is not None else 0
    return ClassifySummary(loans=len(rows) + kept, by_stage=Counter(row.stage for row in rows), kept=kept)


def _row(loan_no: str, borrower_id: str, dpd: int, stage: str, risk: str, parts: list[Decimal]) -> dict[str, Any]:
    return {
        "loan_no": loan_no,
        "borrower_id": borrower_id,
        "dpd": dpd,
        "stage": stage,
        "risk": risk,
        "overdue": {k: f"{v:.2f}" for k, v in zip(PARTS, parts, strict=True)},
    }


def loan_positions(
    *, engine: Engine, policy: Policy, batch_size: int, as_of: date, stage: str | None, limit: int = 0
) -> tuple[list[dict[str, Any]], bool]:
    """(rows ordered by loan_no, whether they came from a stored run)."""
    with engine.connect() as conn:
        if day_was_run(conn, as_of):
            rows = [
                _row(r.loan_no, r.borrower_id, r.dpd, r.stage, r.risk, [from_cents(c) for c in r[5:10]])
                for r in stored_positions(conn, as_of, stage)
            ]
            return (rows[:limit] if limit else rows), True
        rows = []
        for batch in loan_batches(engine=engine, size=batch_size):
            for book in read_books(conn, batch.first_loan_id, batch.last_loan_id, as_of):
                p = position_for(book, as_of, policy)
                if stage is None or p.stage == stage:
                    parts = [p.overdue_principal, p.overdue_interest, p.overdue_penalty, p.overdue_fees]
                    rows.append(_row(book.loan_no, book.borrower_id, p.dpd, p.stage, p.risk, [*parts, p.overdue_total]))
    rows.sort(key=lambda r: r["loan_no"])
    return (rows[:limit] if limit else rows), False
