"""Loans looked up by number, with the borrower details the CLI's one-loan commands need."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date
from typing import Any

from sqlalchemy import Connection, select, text, update

from arrears.engine import LoanBook
from arrears.store.book import read_books
from models import Loan

LN = Loan.__table__  # type: ignore[attr-defined]
CHUNK = 500


class UnknownLoan(LookupError):
    pass


def loan_id_of(conn: Connection, loan_no: str) -> int:
    loan_id = conn.execute(text("SELECT id FROM loan WHERE loan_no = :n"), {"n": loan_no}).scalar()
    if loan_id is None:
        raise UnknownLoan(f"no loan {loan_no!r} in the book")
    return int(loan_id)


def loan_with_borrower(conn: Connection, loan_no: str) -> Any:
    """The loan's row with its borrower's (``loan_id``, ``loan_no``, product, currency, principal in
    cents, rates, contract date, ``borrower_id``, name, address, locale, timezone, phone, email,
    consents), or None."""
    return conn.execute(
        text(
            "SELECT l.id AS loan_id, l.loan_no, l.product, l.currency, l.principal, l.penalty_rate_daily,"
            " l.contract_date, b.borrower_id, b.name, b.address, b.locale, b.timezone, b.phone, b.email,"
            " b.sms_consent, b.email_consent FROM loan l JOIN borrower b ON b.borrower_id = l.borrower_id"
            " WHERE l.loan_no = :n"
        ),
        {"n": loan_no},
    ).first()


def loan_and_book(conn: Connection, loan_no: str, as_of: date) -> tuple[Any, LoanBook]:
    """The loan's row (see ``loan_with_borrower``) and its book as the engine reads it on ``as_of``."""
    row = loan_with_borrower(conn, loan_no)
    if row is None:
        raise UnknownLoan(f"no loan {loan_no!r}")
    (book,) = read_books(conn, row.loan_id, row.loan_id, as_of)
    return row, book


def loan_nos(conn: Connection, ids: Sequence[int]) -> dict[int, str]:
    unique = sorted(set(ids))
    out: dict[int, str] = {}
    for i in range(0, len(unique), CHUNK):
        q = select(LN.c.id, LN.c.loan_no).where(LN.c.id.in_(unique[i : i + CHUNK]))
        out.update({r.id: r.loan_no for r in conn.execute(q)})
    return out


def bump_versions(conn: Connection, loan_ids: Iterable[int]) -> None:
    """What these loans' positions are computed from changed (a schedule, terms, a payment, a hardship
    arrangement, a promise judged): an incremental day recomputes them."""
    ids = sorted(set(loan_ids))
    for i in range(0, len(ids), CHUNK):
        conn.execute(update(LN).where(LN.c.id.in_(ids[i : i + CHUNK])).values(input_version=LN.c.input_version + 1))
