"""Payments as events: a payment recorded the moment it arrives (the signed ``/payments`` webhook,
``arrears pay import FILE``) stops collection on its loan at once, without waiting for the next
daily run.

Recording a payment (once per bank reference) computes the loan's position on the lender's day
with it. When nothing is overdue any more the loan is cured there and then: its case closes as
cured and what has not gone out yet is stopped — queued reminders (pre-due ones excepted), letters
not yet handed to the mail house, open call tasks, open legal work — exactly as the daily run's
cure does. An open promise whose amount is reached is kept at once (its reminder no longer goes).
A partial payment stops nothing: the ladder goes on, and the next message states the new amount.
Only ``queued`` messages are touched: one being sent at that moment goes out once, never twice.
The next daily run classifies with the payment like any other.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

from sqlalchemy import Connection, Engine

from arrears.book.reader import Problem, validate_payments
from arrears.book.records import Limits, PaymentRecord
from arrears.engine import position_for
from arrears.policy import Policy
from arrears.settings import Settings
from arrears.store import imports
from arrears.store.cases import add_event, cancel_pending, close_cases
from arrears.store.loans import UnknownLoan, loan_and_book, loan_id_of
from arrears.store.payments import insert_payment
from arrears.store.promises import credit_open_promise


class PaymentRefused(ValueError):
    """A payment that cannot be recorded as given (unknown loan, a date after today)."""


@dataclass(frozen=True)
class PaymentApplied:
    reference: str
    loan_no: str
    new: bool  # False: this reference was recorded before (nothing done again)
    cured: bool = False
    overdue_after: Decimal = Decimal(0)
    stopped: dict[str, int] = field(default_factory=dict)  # messages, letters, calls, legal tasks stopped
    promise: str | None = None  # "kept" when an open promise was met by it


def record_payment(
    conn: Connection, policy: Policy, settings: Settings, payment: PaymentRecord, now: datetime, source: str
) -> PaymentApplied:
    """Record one payment and act on it (see the module); in the caller's transaction."""
    today = settings.today(now)
    if payment.paid_on > today:
        raise PaymentRefused(f"payment {payment.reference}: paid_on {payment.paid_on} is after today ({today})")
    try:
        loan_id = loan_id_of(conn, payment.loan_no)
    except UnknownLoan:
        raise PaymentRefused(f"payment {payment.reference}: unknown loan {payment.loan_no}") from None
    if not insert_payment(conn, loan_id, payment.paid_on, payment.amount, payment.reference):
        return PaymentApplied(payment.reference, payment.loan_no, new=False)
    _, book = loan_and_book(conn, payment.loan_no, today)
    pos = position_for(book, today, policy)
    promise = credit_open_promise(conn, loan_id, today, now)
    cured = pos.dpd == 0 and pos.overdue_total == 0
    detail = f"{payment.amount} paid on {payment.paid_on} ({payment.reference}, {source})"
    add_event(
        conn, key=f"payment:{payment.reference}", loan_id=loan_id, as_of=today, at=now, kind="payment",
        actor="system", source=source[:64], detail=detail + ("; nothing overdue: cured" if cured else ""),
    )  # fmt: skip
    stopped: dict[str, int] = {}
    if cured:
        stopped = close_cases(conn, [loan_id], today, now, "cured", f"paid {payment.reference}", actor="system",
                              source=source[:64])  # fmt: skip
        if not stopped:  # no open case (a pre-due loan): still stop what waits
            stopped = cancel_pending(conn, [loan_id], today, now, f"cured: paid {payment.reference}", legal=False)
    return PaymentApplied(payment.reference, payment.loan_no, True, cured, pos.overdue_total, stopped, promise)


@dataclass
class PaymentFile:
    recorded: list[PaymentApplied] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        return 3 if self.problems else 0


def import_payments(
    engine: Engine, policy: Policy, settings: Settings, path: Path, now: Callable[[], datetime]
) -> PaymentFile:
    """A bank's payment file: each good row recorded and acted on (its own transaction, so one
    refusal loses nothing else); bad rows quarantined with the file's name, line and reason."""
    with engine.connect() as conn:
        book = validate_payments(path, lambda nos: imports.known_loans(conn, nos), Limits(settings.max_amount))
    out = PaymentFile(problems=list(book.problems))
    for record in book.records.get(path.name, []):
        try:
            with engine.begin() as conn:
                out.recorded.append(record_payment(conn, policy, settings, record, now(), f"import:{path.name}"))
        except PaymentRefused as err:
            out.problems.append(Problem(path.name, 0, "paid_on", str(err), {}))
    book.problems = out.problems
    with engine.begin() as conn:  # the import run, with what was quarantined (as `arrears import` records it)
        imports.record_import_run(conn, path, book, {path.name: sum(r.new for r in out.recorded)})
    return out


def owed_on(engine: Engine, policy: Policy, loan_no: str, as_of: date) -> Decimal:
    """What a loan owes (its overdue total) on a day: the amount of its pay-now link."""
    with engine.connect() as conn:
        try:
            _, book = loan_and_book(conn, loan_no, as_of)
        except UnknownLoan:
            raise PaymentRefused(f"unknown loan {loan_no}") from None
    return position_for(book, as_of, policy).overdue_total


def payment_recorder(
    engine: Engine, policy: Policy, settings: Settings
) -> Callable[[PaymentRecord, datetime], PaymentApplied]:
    """What the webhook app calls for each signed payment: record and act, in one transaction."""

    def record(payment: PaymentRecord, now: datetime) -> PaymentApplied:
        with engine.begin() as conn:
            return record_payment(conn, policy, settings, payment, now, "webhook")

    return record
