"""The batched reader sums far-future installments into one line; every figure must
equal the engine's answer on the full schedule, loan by loan, on any day."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from arrears.demo.synthetic import generate_book
from arrears.engine import Installment as Inst
from arrears.engine import LoanBook, position_for
from arrears.engine import Payment as Pay
from arrears.policy import load_policy
from arrears.steps.importing import import_book
from arrears.store.book import read_books
from models import Installment, Loan, Payment
from tests.factories import day, write_book

POLICY = load_policy()


def _full_books(engine, as_of):  # type: ignore[no-untyped-def]
    """The same loans read the plain way (ORM, every installment)."""
    with engine.connect() as conn:
        loans = conn.execute(select(Loan).order_by(Loan.id)).all()
        insts = conn.execute(select(Installment)).all()
        pays = conn.execute(select(Payment).where(Payment.paid_on <= as_of)).all()
    books = []
    for loan in loans:
        books.append(
            LoanBook(
                loan.id,
                loan.loan_no,
                loan.borrower_id,
                loan.product,
                loan.penalty_rate_daily,
                loan.late_fee,
                loan.grace_days,
                loan.secured,
                tuple(
                    Inst(i.due_date, i.seq, i.principal_due, i.interest_due, i.fee_due)
                    for i in insts
                    if i.loan_id == loan.id
                ),
                tuple(Pay(p.paid_on, p.amount) for p in pays if p.loan_id == loan.id),
                currency=loan.currency,
            )
        )
    return books


@pytest.mark.parametrize("offset_days", [-200, -31, 0, 45, 400])
def test_batched_read_gives_the_same_positions_as_the_full_schedule(fresh_db, tmp_path, offset_days):
    generate_book(tmp_path / "book", loans=150, as_of=day("2026-11-23"), seed=5, bad_rows=False)
    import_book(engine=fresh_db, directory=tmp_path / "book")
    as_of = day("2026-11-23") + timedelta(days=offset_days)
    with fresh_db.connect() as conn:
        fast = read_books(conn, 1, 10**9, as_of)
    full = _full_books(fresh_db, as_of)
    assert [b.loan_id for b in fast] == [b.loan_id for b in full]
    for f, g in zip(fast, full, strict=True):
        assert position_for(f, as_of, POLICY) == position_for(g, as_of, POLICY), f.loan_no


def test_prepaid_loans_fall_back_to_the_full_schedule(fresh_db, tmp_path):
    insts = [f"LN1,{k},2026-{k:02d}-10,1000.00,10.00,0.00" for k in range(1, 13)]
    book = write_book(
        tmp_path / "b",
        borrowers=["B1,Li,1,,,,zh_CN,Asia/Shanghai,true,true"],
        loans=["LN1,B1,consumer,CNY,12000,0.12,0.0005,50,3,2025-12-10"],
        installments=insts,
        payments=["LN1,2026-01-05,6000.00,P1"],
    )
    import_book(engine=fresh_db, directory=book)
    as_of = day("2026-02-01")
    with fresh_db.connect() as conn:
        [fast] = read_books(conn, 1, 10**9, as_of)
    [full] = _full_books(fresh_db, as_of)
    assert len(fast.installments) == 12
    assert position_for(fast, as_of, POLICY) == position_for(full, as_of, POLICY)
    assert position_for(fast, as_of, POLICY).next_due_date == day("2026-06-10")
