"""`arrears import`: good rows go through, each bad row is quarantined with file, line, column and reason."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from arrears.cli import app
from arrears.steps.importing import import_book
from models import Borrower, Installment, Loan, Payment, QuarantinedRow
from tests.factories import GOOD_BORROWER, GOOD_INSTALLMENTS, GOOD_LOAN, GOOD_PAYMENT, write_book


def _good(tmp_path, **overrides):  # type: ignore[no-untyped-def]
    parts = {
        "borrowers": [GOOD_BORROWER],
        "loans": [GOOD_LOAN],
        "installments": GOOD_INSTALLMENTS,
        "payments": [GOOD_PAYMENT],
    }
    parts.update(overrides)
    return write_book(tmp_path / "book", **parts)


def _count(engine, model):  # type: ignore[no-untyped-def]
    with engine.connect() as conn:
        return conn.scalar(select(func.count()).select_from(model))


def test_good_book_imports_every_row(fresh_db, tmp_path):
    result = import_book(engine=fresh_db, directory=_good(tmp_path))
    assert result.problems == []
    assert result.exit_code == 0
    assert (
        _count(fresh_db, Borrower),
        _count(fresh_db, Loan),
        _count(fresh_db, Installment),
        _count(fresh_db, Payment),
    ) == (1, 1, 3, 1)


def test_phone_is_stored_in_e164_and_money_exactly(fresh_db, tmp_path):
    import_book(engine=fresh_db, directory=_good(tmp_path))
    with fresh_db.connect() as conn:
        assert conn.scalar(select(Borrower.phone)) == "+8613812345678"
        assert str(conn.scalar(select(Loan.principal))) == "12000.00"
        assert str(conn.scalar(select(Loan.penalty_rate_daily))) == "0.0005"


def test_reimporting_the_same_files_changes_nothing(fresh_db, tmp_path):
    book = _good(tmp_path)
    import_book(engine=fresh_db, directory=book)
    with fresh_db.connect() as conn:
        before = conn.execute(select(Loan.id, Loan.loan_no, Loan.principal)).all()
    again = import_book(engine=fresh_db, directory=book)
    assert again.problems == []
    with fresh_db.connect() as conn:
        assert conn.execute(select(Loan.id, Loan.loan_no, Loan.principal)).all() == before
    assert (_count(fresh_db, Installment), _count(fresh_db, Payment)) == (3, 1)


def test_reimport_updates_a_changed_row_in_place(fresh_db, tmp_path):
    import_book(engine=fresh_db, directory=_good(tmp_path))
    import_book(engine=fresh_db, directory=_good(tmp_path, payments=["LN1,2026-02-06,1180.00,PAY-1"]))
    with fresh_db.connect() as conn:
        assert [str(d) for d in conn.scalars(select(Payment.paid_on))] == ["2026-02-06"]


def test_utf8_bom_is_tolerated(fresh_db, tmp_path):
    book = _good(tmp_path)
    path = book / "borrowers.csv"
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
    assert import_book(engine=fresh_db, directory=book).problems == []


BAD_ROWS = [
    (
        "missing field",
        {"loans": [GOOD_LOAN, "LN2,B1,consumer,CNY,,0.18,0.0005,50,3,2026-01-05"]},
        "loans.csv",
        3,
        "principal",
        "principal is missing",
    ),
    (
        "malformed date",
        {"installments": [*GOOD_INSTALLMENTS, "LN1,4,2026-02-30,1.00,1.00,0.00"]},
        "installments.csv",
        5,
        "due_date",
        "not a date",
    ),
    (
        "unknown loan",
        {"payments": [GOOD_PAYMENT, "LN404,2026-02-05,10.00,PAY-2"]},
        "payments.csv",
        3,
        "loan_no",
        "unknown loan LN404",
    ),
    (
        "negative amount",
        {"payments": [GOOD_PAYMENT, "LN1,2026-02-05,-10.00,PAY-2"]},
        "payments.csv",
        3,
        "amount",
        "negative amount",
    ),
    (
        "bad phone",
        {"borrowers": [GOOD_BORROWER, "B2,李娜,110101199003071234,12345,,,zh_CN,Asia/Shanghai,true,true"]},
        "borrowers.csv",
        3,
        "phone",
        "not a phone number",
    ),
    (
        "bad email",
        {"borrowers": [GOOD_BORROWER, "B2,李娜,110101199003071234,,li.na@,,zh_CN,Asia/Shanghai,true,true"]},
        "borrowers.csv",
        3,
        "email",
        "not an email address",
    ),
    (
        "duplicate key",
        {"payments": [GOOD_PAYMENT, "LN1,2026-03-05,5.00,PAY-1"]},
        "payments.csv",
        3,
        None,
        "duplicate key PAY-1 (first on line 2)",
    ),
    (
        "unknown timezone",
        {"borrowers": [GOOD_BORROWER, "B2,李娜,1101,,,,zh_CN,Asia/Beijing,true,true"]},
        "borrowers.csv",
        3,
        "timezone",
        "not a known IANA zone",
    ),
    (
        "unknown borrower",
        {"loans": [GOOD_LOAN, "LN2,B404,consumer,CNY,100,0.18,0.0005,50,3,2026-01-05"]},
        "loans.csv",
        3,
        "borrower_id",
        "unknown borrower B404",
    ),
    (
        "too many decimals",
        {"payments": [GOOD_PAYMENT, "LN1,2026-02-05,10.001,PAY-2"]},
        "payments.csv",
        3,
        "amount",
        "more than 2 decimal places",
    ),
]


@pytest.mark.parametrize(("kind", "parts", "file", "line", "column", "reason"), BAD_ROWS, ids=[r[0] for r in BAD_ROWS])
def test_bad_row_is_quarantined_and_good_rows_go_through(fresh_db, tmp_path, kind, parts, file, line, column, reason):
    result = import_book(engine=fresh_db, directory=_good(tmp_path, **parts))
    assert len(result.problems) == 1, result.problems
    p = result.problems[0]
    assert (p.file, p.line, p.column) == (file, line, column)
    assert reason in p.reason
    assert result.exit_code == 3
    assert _count(fresh_db, Loan) >= 1 and _count(fresh_db, Installment) >= 3  # the good rows are in
    with fresh_db.connect() as conn:
        kept = conn.execute(select(QuarantinedRow.file, QuarantinedRow.line, QuarantinedRow.reason)).all()
    assert kept == [(file, line, p.reason)]


def test_installments_of_a_quarantined_loan_are_quarantined_too(fresh_db, tmp_path):
    book = _good(tmp_path, loans=["LN1,B1,consumer,CNY,12000.00,0.18,0.0005,50.00,3,not-a-date"])
    result = import_book(engine=fresh_db, directory=book)
    assert {(p.file, p.reason.split()[0]) for p in result.problems} == {
        ("loans.csv", "contract_date"),
        ("installments.csv", "unknown"),
        ("payments.csv", "unknown"),
    }
    assert _count(fresh_db, Installment) == 0


def test_quarantined_rows_keep_no_unmasked_personal_data(fresh_db, tmp_path):
    bad = "B2,李娜,110101199003071234,13912345678,li.na@example.cn,,zh_CN,Mars/Olympus,true,true"
    import_book(engine=fresh_db, directory=_good(tmp_path, borrowers=[GOOD_BORROWER, bad]))
    with fresh_db.connect() as conn:
        row = json.loads(conn.scalar(select(QuarantinedRow.row)))
    assert "110101199003071234" not in json.dumps(row, ensure_ascii=False)
    assert row["phone"] == "+86139****5678" or "****" in row["phone"]
    assert row["email"] == "l***@example.cn"


def test_cli_exit_codes(settings_env, tmp_path):
    runner = CliRunner()
    good = runner.invoke(app, ["import", str(_good(tmp_path))])
    assert good.exit_code == 0, good.output
    bad = runner.invoke(app, ["import", str(_good(tmp_path, payments=["LN1,2026-02-05,-1,PAY-9"]))])
    assert bad.exit_code == 3
    assert "payments.csv:2 [amount] amount: negative amount" in bad.output


def test_cli_unreadable_file_exits_2_and_imports_nothing(settings_env, tmp_path):
    book = _good(tmp_path)
    (book / "loans.csv").write_bytes(b"loan_no,borrower_id\n\xff\xfe broken")
    result = CliRunner().invoke(app, ["import", str(book)])
    assert result.exit_code == 2
    assert "loans.csv" in result.output


def test_cli_missing_header_column_exits_2(settings_env, tmp_path):
    book = _good(tmp_path)
    (book / "payments.csv").write_text("loan_no,paid_on,amount\nLN1,2026-02-05,1\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["import", str(book)])
    assert result.exit_code == 2
    assert "lacks column(s) reference" in result.output
