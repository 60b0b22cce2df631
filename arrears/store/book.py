"""Read loans with their schedules and payments for a range of loan ids, fast.

Raw driver SQL and cached conversions: on 1M loans the reads, not the engine,
dominate otherwise.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from itertools import repeat
from operator import itemgetter
from typing import Any, TypeVar

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


T = TypeVar("T")


class _Dates(dict[object, date]):
    """Memoised date parsing: a book has few distinct dates and millions of rows."""

    def __missing__(self, value: object) -> date:
        d = self[value] = value if isinstance(value, date) else date.fromisoformat(str(value))
        return d


class _Cents(dict[int, Decimal]):
    """Memoised integer cents -> Decimal."""

    def __missing__(self, value: int) -> Decimal:
        m = self[value] = Decimal(value).scaleb(-2)
        return m


class _Rates(dict[str, Decimal]):
    """Memoised rate text -> Decimal."""

    def __missing__(self, value: str) -> Decimal:
        r = self[value] = Decimal(value)
        return r


_INSTALLMENTS = (
    "SELECT loan_id, seq, due_date, principal_due, interest_due, fee_due FROM installment"
    " WHERE loan_id BETWEEN {lo} AND {hi} ORDER BY loan_id, seq"
)
_PAYMENTS = (
    "SELECT loan_id, paid_on, amount FROM payment WHERE loan_id BETWEEN {lo} AND {hi} AND paid_on <= {as_of}"
    " ORDER BY loan_id"
)
_LOANS = (
    "SELECT id, loan_no, borrower_id, product, penalty_rate_daily, late_fee, grace_days, secured"
    " FROM loan WHERE id BETWEEN {lo} AND {hi} ORDER BY id"
)


def _grouped(loan_ids: list[int], items: list[Any]) -> dict[int, tuple[Any, ...]]:
    """Rows ordered by loan id -> {loan_id: tuple of that loan's items}."""
    out: dict[int, tuple[Any, ...]] = {}
    start = 0
    for i in range(1, len(loan_ids) + 1):
        if i == len(loan_ids) or loan_ids[i] != loan_ids[start]:
            out[loan_ids[start]] = tuple(items[start:i])
            start = i
    return out


def read_books(conn: Connection, first_loan_id: int, last_loan_id: int, as_of: date) -> list[LoanBook]:
    """Loans ``first..last`` with their installments and the payments made up to ``as_of``.

    Goes to the DBAPI cursor and converts whole columns at a time: SQLAlchemy's
    per-row wrapping and per-cell function calls cost more than the database does.
    """
    dates, cents, rates = _Dates(), _Cents(), _Rates()
    mark = "?" if conn.dialect.name == "sqlite" else "%s"
    sql = {"lo": mark, "hi": mark, "as_of": mark}
    day_param: object = as_of.isoformat() if conn.dialect.name == "sqlite" else as_of
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.execute(_INSTALLMENTS.format(**sql), (first_loan_id, last_loan_id))
        installments = _columns(cursor.fetchall(), 6)
        schedule = _grouped(
            installments[0],
            list(
                map(
                    Installment,
                    map(dates.__getitem__, installments[2]),
                    installments[1],
                    *(map(cents.__getitem__, col) for col in installments[3:6]),
                )
            ),
        )
        cursor.execute(_PAYMENTS.format(**sql), (first_loan_id, last_loan_id, day_param))
        paid = _columns(cursor.fetchall(), 3)
        payments = _grouped(
            paid[0], list(map(Payment, map(dates.__getitem__, paid[1]), map(cents.__getitem__, paid[2])))
        )
        cursor.execute(_LOANS.format(**sql), (first_loan_id, last_loan_id))
        loans = cursor.fetchall()
    finally:
        cursor.close()
    empty: tuple[Any, ...] = ()
    return [
        LoanBook(
            loan_id,
            loan_no,
            borrower_id,
            product,
            rates[rate],
            cents[fee],
            grace,
            bool(secured),
            schedule.get(loan_id, empty),
            payments.get(loan_id, empty),
        )
        for loan_id, loan_no, borrower_id, product, rate, fee, grace, secured in loans
    ]


def _columns(rows: list[Any], width: int) -> list[list[Any]]:
    """Transpose rows into columns (C-level: no Python call per cell)."""
    return [list(map(itemgetter(k), rows)) for k in range(width)]


def _records(cls: type[T], *columns: Iterable[Any]) -> list[T]:
    """Named tuples from columns without a Python-level call per record."""
    return list(map(tuple.__new__, repeat(cls), zip(*columns, strict=True)))  # type: ignore[arg-type]
