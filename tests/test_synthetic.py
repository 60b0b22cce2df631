"""The demo book is realistic enough to exercise every stage, and its schedules add up."""

from __future__ import annotations

from decimal import Decimal

from arrears.book.reader import validate_book
from arrears.demo.synthetic import add_months, amortise, generate_book
from tests.factories import day


def test_amortisation_repays_exactly_the_principal():
    rows = amortise(Decimal("12345.67"), Decimal("0.1499"), 12)
    assert sum(p for p, _ in rows) == Decimal("12345.67")
    assert all(i >= 0 and p > 0 for p, i in rows)


def test_monthly_due_dates_clamp_to_month_end():
    assert add_months(day("2026-01-31"), 1) == day("2026-02-28")
    assert add_months(day("2024-01-31"), 1) == day("2024-02-29")
    assert add_months(day("2026-11-30"), 3) == day("2027-02-28")


def test_generated_book_validates_except_the_planted_bad_rows(tmp_path):
    stats = generate_book(tmp_path, loans=300, as_of=day("2026-11-23"), seed=3)
    book = validate_book(tmp_path, known_borrowers=lambda ids: set(), known_loans=lambda nos: set())
    assert len(book.problems) == stats.bad_rows == 3
    assert len(book.good("loans.csv")) == 300
