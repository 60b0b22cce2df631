"""Read loans with their schedules and payments for a range of loan ids, fast.

Raw driver SQL and cached conversions: on 1M loans the reads, not the engine,
dominate otherwise.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import Connection, Date, Engine, bindparam, text

from arrears.engine import Installment, Payment
from arrears.positions import LoanBook


@dataclass(frozen=True, slots=True)
class Batch:
    index: int
    first_loan_id: int
    last_loan_id: int
    loans: int

    @property
    def label(self) -> str:
        return f"batch-{self.index:04d} (loans {self.first_loan_id}-{self.last_loan_id})"


def loan_batches(*, engine: Engine, size: int) -> list[Batch]:
    """Consecutive loan-id ranges of at most ``size`` loans each."""
    with engine.connect() as conn:
        ids = [row[0] for row in conn.exec_driver_sql("SELECT id FROM loan ORDER BY id")]
    return [
        Batch(i, ids[start], ids[min(start + size, len(ids)) - 1], min(size, len(ids) - start))
        for i, start in enumerate(range(0, len(ids), size))
    ]


class _Convert:
    """Memoised date and cents conversions (few distinct values, millions of rows)."""

    def __init__(self) -> None:
        self.dates: dict[object, date] = {}
        self.money: dict[int, Decimal] = {}
        self.rates: dict[str, Decimal] = {}

    def day(self, value: object) -> date:
        d = self.dates.get(value)
        if d is None:
            d = value if isinstance(value, date) else date.fromisoformat(str(value))
            self.dates[value] = d
        return d

    def cents(self, value: int) -> Decimal:
        m = self.money.get(value)
        if m is None:
            m = self.money[value] = Decimal(value).scaleb(-2)
        return m

    def rate(self, value: str) -> Decimal:
        r = self.rates.get(value)
        if r is None:
            r = self.rates[value] = Decimal(value)
        return r


def read_books(conn: Connection, first_loan_id: int, last_loan_id: int, as_of: date) -> list[LoanBook]:
    """Loans ``first..last`` with their installments and the payments made up to ``as_of``."""
    cv = _Convert()
    bounds = {"lo": first_loan_id, "hi": last_loan_id}
    installments: dict[int, list[Installment]] = defaultdict(list)
    for loan_id, seq, due, p, i, f in conn.execute(
        text(
            "SELECT loan_id, seq, due_date, principal_due, interest_due, fee_due FROM installment"
            " WHERE loan_id BETWEEN :lo AND :hi"
        ),
        bounds,
    ):
        installments[loan_id].append(Installment(seq, cv.day(due), cv.cents(p), cv.cents(i), cv.cents(f)))
    payments: dict[int, list[Payment]] = defaultdict(list)
    for loan_id, paid_on, amount in conn.execute(
        text(
            "SELECT loan_id, paid_on, amount FROM payment WHERE loan_id BETWEEN :lo AND :hi AND paid_on <= :as_of"
        ).bindparams(bindparam("as_of", type_=Date())),
        {**bounds, "as_of": as_of},
    ):
        payments[loan_id].append(Payment(cv.day(paid_on), cv.cents(amount)))
    books = []
    for loan_id, loan_no, borrower_id, product, rate, fee, grace, secured in conn.execute(
        text(
            "SELECT id, loan_no, borrower_id, product, penalty_rate_daily, late_fee, grace_days, secured"
            " FROM loan WHERE id BETWEEN :lo AND :hi ORDER BY id"
        ),
        bounds,
    ):
        books.append(
            LoanBook(
                loan_id,
                loan_no,
                borrower_id,
                product,
                cv.rate(rate),
                cv.cents(fee),
                grace,
                bool(secured),
                tuple(installments.get(loan_id, ())),
                tuple(payments.get(loan_id, ())),
            )
        )
    return books
