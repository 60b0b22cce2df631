"""The day's work per batch, as plain functions with picklable arguments so a
process pool can run them (Prefect tasks call these; nothing here imports Prefect).

Each returns a small summary; the rows themselves go straight to the database.
"""

from __future__ import annotations

import gc
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from pathlib import Path

from sqlalchemy import Engine

from arrears.db import make_engine
from arrears.planning import plan_actions
from arrears.policy import Policy, load_policy
from arrears.positions import position_for
from arrears.store.actions import insert_planned
from arrears.store.book import read_books
from arrears.store.borrower_says import broken_promise_counts, disputed_loans, open_promises
from arrears.store.positions import read_position_views, replace_positions


@dataclass(frozen=True)
class ClassifySummary:
    loans: int
    by_stage: Counter[str]


@dataclass(frozen=True)
class PlanSummary:
    planned: int  # actions the policy calls for
    new: int  # of which not planned before (the rest were already there: a re-run)
    by_channel: Counter[str]


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


@lru_cache(maxsize=4)
def _engine(url: str) -> Engine:
    """One engine per worker process and URL."""
    return make_engine(url)


@lru_cache(maxsize=4)
def _policy(path: str | None) -> Policy:
    return load_policy(Path(path) if path else None)


def classify_loans(
    url: str, policy_path: str | None, first_loan_id: int, last_loan_id: int, as_of: date
) -> ClassifySummary:
    """Snapshot the book of loans ``first..last``, classify them, replace their positions for ``as_of``."""
    policy = _policy(policy_path)
    engine = _engine(url)
    with _no_cyclic_gc(), engine.begin() as conn:
        books = read_books(conn, first_loan_id, last_loan_id, as_of)
        broken = broken_promise_counts(
            conn, first_loan_id, last_loan_id, as_of, policy.promises.partial_counts_as_broken
        )
        rows = [position_for(book, as_of, policy, broken.get(book.loan_id, 0)) for book in books]
        replace_positions(conn, as_of, first_loan_id, last_loan_id, rows)
    return ClassifySummary(loans=len(rows), by_stage=Counter(row.stage for row in rows))


def plan_borrowers(
    url: str, policy_path: str | None, first_borrower: str, last_borrower: str, as_of: date
) -> PlanSummary:
    """Plan the policy's actions for borrowers ``first..last`` and store the new ones."""
    policy = _policy(policy_path)
    with _engine(url).begin() as conn:
        planned = plan_actions(
            read_position_views(conn, as_of, first_borrower, last_borrower),
            policy,
            as_of,
            disputed=disputed_loans(conn, as_of, first_borrower, last_borrower),
            promises=open_promises(conn, as_of, first_borrower, last_borrower),
        )
        new = insert_planned(conn, planned)
    return PlanSummary(planned=len(planned), new=new, by_channel=Counter(a.channel for a in planned))
