"""Collection cases: follow the day (cases opened for newly delinquent loans, stage changes,
cured cases closed with what was pending on them), and one loan's case as ``arrears case``
shows it: the timeline and what the policy plans next if nothing is paid."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import Connection

from arrears.cases.outlook import Upcoming, outlook
from arrears.cases.promises import broken_statuses
from arrears.faults import crash_point
from arrears.policy import Policy
from arrears.runtime import Runtime
from arrears.store import cases as store
from arrears.store.book import read_books
from arrears.store.disputes import disputed_loans
from arrears.store.legal import has_open_legal_case
from arrears.store.promises import broken_promise_counts, open_promises


def track_day(rt: Runtime, as_of: date) -> store.CaseDay:
    with rt.engine.begin() as conn:
        day = store.track_cases(conn, as_of, rt.clock.wall())
        crash_point("cases.tracked")  # before the commit: the day's cases roll back whole
    return day


@dataclass(frozen=True)
class CaseView:
    cases: list[Any]
    timeline: list[store.TimelineEntry]
    upcoming: list[Upcoming] | None  # None: the loan is not in the book on that day


def case_view(conn: Connection, policy: Policy, loan_id: int, day: date) -> CaseView:
    """The loan's cases, its timeline, and the next actions the policy plans within 30 days."""
    cases, events = store.cases_of(conn, loan_id), store.timeline(conn, loan_id)
    books = read_books(conn, loan_id, loan_id, day)
    if not books:
        return CaseView(cases, events, None)
    book = books[0]
    borrower = book.borrower_id
    broken = broken_statuses(policy.promises.partial_counts_as_broken)
    upcoming = outlook(
        book,
        policy,
        day,
        broken_promises=broken_promise_counts(conn, loan_id, loan_id, day, broken).get(loan_id, 0),
        disputed=loan_id in disputed_loans(conn, day, borrower, borrower),
        promise=open_promises(conn, day, borrower, borrower).get(loan_id),
        escalated=has_open_legal_case(conn, loan_id),
    )
    return CaseView(cases, events, upcoming)
