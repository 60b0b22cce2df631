"""Read loans with their schedules and payments for a range of loan ids, fast.

Raw driver SQL and cached conversions: on 1M loans the reads, not the engine,
dominate otherwise.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import Connection, Engine

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


_INSTALLMENTS = (
    "SELECT loan_id, seq, due_date, principal_due, interest_due, fee_due FROM installment"
    " WHERE loan_id BETWEEN {lo} AND {hi}"
)
_PAYMENTS = "SELECT loan_id, paid_on, amount FROM payment WHERE loan_id BETWEEN {lo} AND {hi} AND paid_on <= {as_of}"
_LOANS = (
    "SELECT id, loan_no, borrower_id, product, penalty_rate_daily, late_fee, grace_days, secured"
    " FROM loan WHERE id BETWEEN {lo} AND {hi} ORDER BY id"
)


def read_books(conn: Connection, first_loan_id: int, last_loan_id: int, as_of: date) -> list[LoanBook]:
    """Loans ``first..last`` with their installments and the payments made up to ``as_of``.

    Goes to the DBAPI cursor directly: SQLAlchemy's per-row wrapping costs more
    than the rest of the read on a 25,000-loan batch.
    """
    cv = _Convert()
    mark = "?" if conn.dialect.name == "sqlite" else "%s"
    sql = {"lo": mark, "hi": mark, "as_of": mark}
    day_param: object = as_of.isoformat() if conn.dialect.name == "sqlite" else as_of
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    installments: dict[int, list[Installment]] = defaultdict(list)
    day, cents = cv.day, cv.cents
    cursor.execute(_INSTALLMENTS.format(**sql), (first_loan_id, last_loan_id))
    for loan_id, seq, due, p, i, f in cursor.fetchall():
        installments[loan_id].append(Installment(seq, day(due), cents(p), cents(i), cents(f)))
    payments: dict[int, list[Payment]] = defaultdict(list)
    cursor.execute(_PAYMENTS.format(**sql), (first_loan_id, last_loan_id, day_param))
    for loan_id, paid_on, amount in cursor.fetchall():
        payments[loan_id].append(Payment(day(paid_on), cents(amount)))
    cursor.execute(_LOANS.format(**sql), (first_loan_id, last_loan_id))
    books = [
        LoanBook(
            loan_id,
            loan_no,
            borrower_id,
            product,
            cv.rate(rate),
            cents(fee),
            grace,
            bool(secured),
            tuple(installments.get(loan_id, ())),
            tuple(payments.get(loan_id, ())),
        )
        for loan_id, loan_no, borrower_id, product, rate, fee, grace, secured in cursor.fetchall()
    ]
    cursor.close()
    return books
