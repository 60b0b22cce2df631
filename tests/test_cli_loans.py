"""`arrears loans` for a day that was not run computes positions on the fly, without storing them."""

from __future__ import annotations

import json

from sqlalchemy import func, select
from typer.testing import CliRunner

from arrears.cli import app
from arrears.db import make_engine
from arrears.steps.importing import import_book
from models import Position
from tests.factories import GOOD_BORROWER, GOOD_INSTALLMENTS, GOOD_LOAN, GOOD_PAYMENT, write_book


def test_loans_for_a_day_not_run_is_computed_live(settings_env, tmp_path):
    engine = make_engine(settings_env)
    book = write_book(
        tmp_path / "book",
        borrowers=[GOOD_BORROWER],
        loans=[GOOD_LOAN],
        installments=GOOD_INSTALLMENTS,
        payments=[GOOD_PAYMENT],
    )
    CliRunner().invoke(app, ["db", "upgrade"])
    import_book(engine=engine, directory=book)
    result = CliRunner().invoke(app, ["loans", "--as-of", "2026-03-15", "--json"])
    assert result.exit_code == 0, result.output
    [row] = json.loads(result.stdout)
    # installment 2 (due 03-05: 1000 + 180) unpaid for 10 days; penalty 10 x 1000 x 0.0005 = 5.00;
    # late fee 50 charged on 03-09 (grace 3)
    assert row == {
        "loan_no": "LN1",
        "borrower_id": "B1",
        "dpd": 10,
        "stage": "M1",
        "risk": "low",
        "overdue": {
            "principal": "1000.00",
            "interest": "180.00",
            "penalty": "5.00",
            "fees": "50.00",
            "total": "1235.00",
        },
    }
    with engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(Position)) == 0
