"""Hostile input gets a clear answer and nothing else is lost: an import with a huge field, amounts
beyond any cents column or in exponent notation, control characters and over-long text quarantines
each bad row with its line and reason and imports the rest; every CSV we write is safe to open in
a spreadsheet; a bad policy is told in one line."""

from __future__ import annotations

import csv
import io
import os
from decimal import Decimal
from pathlib import Path

import pytest
from pypdf import PdfWriter
from sqlalchemy import func, select
from typer.testing import CliRunner

from arrears.cli import app
from arrears.letters.mailhouse import write_print_batch
from arrears.letters.pdf import ArchiveUnwritable, write_atomically
from arrears.money import DB_MAX_AMOUNT, parse_amount
from arrears.steps.importing import import_book
from arrears.steps.legal import write_index
from arrears.templating.formats import spreadsheet_cell
from models import Borrower, Installment, Loan, Payment
from tests.factories import GOOD_BORROWER, GOOD_INSTALLMENTS, GOOD_LOAN, GOOD_PAYMENT, write_book

HUGE = "x" * 10_000_000
HOSTILE = {  # file -> (extra rows, [(line, column, reason fragment)])
    "borrowers.csv": (
        [
            f"B2,{HUGE},110101199003071234,,,,zh_CN,Asia/Shanghai,true,true",
            "B3,王\x00五,110101199003071234,,,,zh_CN,Asia/Shanghai,true,true",
            "B4,赵六,110101199003071234,,,上海\x1b[31m,zh_CN,Asia/Shanghai,true,true",
            f"B5,{'名' * 201},110101199003071234,,,,zh_CN,Asia/Shanghai,true,true",
        ],
        [
            (3, None, "field larger than field limit"),
            (4, "name", "control character (U+0000)"),
            (5, "address", "control character (U+001B)"),
            (6, "name", "201 characters long, more than the 200"),
        ],
    ),
    "loans.csv": (
        ["LN2,B1,consumer,CNY,1e20,0.18,0.0005,50.00,3,2026-01-05"],
        [(3, "principal", "exponent notation")],
    ),
    "installments.csv": (
        ["LN1,99999999999999999999,2026-05-05,1.00,1.00,0.00"],
        [(5, "seq", "is not a whole number from 1 to 10000")],
    ),
    "payments.csv": (
        ["LN1,2026-02-06,99999999999999999999999.99,PAY-2", "LN1,2026-02-07,1E+30,PAY-3"],
        [(3, "amount", "over the maximum of 1,000,000,000.00"), (4, "amount", "exponent notation")],
    ),
}


def _hostile_book(tmp_path: Path) -> Path:
    return write_book(
        tmp_path / "book",
        borrowers=[GOOD_BORROWER, *HOSTILE["borrowers.csv"][0]],
        loans=[GOOD_LOAN, *HOSTILE["loans.csv"][0]],
        installments=[*GOOD_INSTALLMENTS, *HOSTILE["installments.csv"][0]],
        payments=[GOOD_PAYMENT, *HOSTILE["payments.csv"][0]],
    )


def test_each_hostile_row_is_quarantined_with_its_line_and_reason_and_the_good_rows_go_in(fresh_db, tmp_path):
    result = import_book(engine=fresh_db, directory=_hostile_book(tmp_path))
    found = {(p.file, p.line): (p.column, p.reason) for p in result.problems}
    expected = {(f, line): (col, why) for f, (_, problems) in HOSTILE.items() for line, col, why in problems}
    assert set(found) == set(expected)
    for where, (column, fragment) in expected.items():
        assert found[where][0] == column and fragment in found[where][1], (where, found[where])
    with fresh_db.connect() as conn:
        counts = [conn.scalar(select(func.count()).select_from(m)) for m in (Borrower, Loan, Installment, Payment)]
    assert counts == [1, 1, 3, 1]


def test_the_import_command_quarantines_a_hostile_book_without_a_traceback(settings_env, tmp_path):
    result = CliRunner().invoke(app, ["import", str(_hostile_book(tmp_path))])
    assert result.exit_code == 3, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert "8 row(s) quarantined" in result.output and "Traceback" not in result.output


@pytest.mark.parametrize(
    ("text", "why"),
    [("1e20", "exponent"), ("1E+30", "exponent"), ("NaN", "not a decimal"), ("Infinity", "not a decimal"),
     ("92233720368547758.08", "over the maximum"), ("12.345", "2 decimal places"), ("-1", "negative")],
)  # fmt: skip
def test_an_amount_is_plain_digits_in_cents_under_the_ceiling(text, why):
    with pytest.raises(ValueError, match=why):
        parse_amount(text, ceiling=DB_MAX_AMOUNT)


def test_the_ceiling_is_never_above_what_a_cents_column_holds():
    assert parse_amount("92233720368547758.07", ceiling=Decimal("1e30")) == DB_MAX_AMOUNT
    with pytest.raises(ValueError, match="over the maximum of 92,233,720,368,547,758.07"):
        parse_amount("92233720368547758.08", ceiling=Decimal("1e30"))


@pytest.mark.parametrize("cell", ["=HYPERLINK(\"http://x\",\"click\")", "+1", "-2", "@SUM(1+1)", "\tx", "\rx"])
def test_a_cell_a_spreadsheet_would_run_is_made_inert_but_stays_readable(cell):
    assert spreadsheet_cell(cell) == "'" + cell
    assert spreadsheet_cell("张伟") == "张伟" and spreadsheet_cell(7) == 7


def _pdf(path: Path) -> Path:
    writer = PdfWriter()
    writer.add_blank_page(width=595, height=842)
    with path.open("wb") as f:
        writer.write(f)
    return path


def _manifest_rows(path: Path) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8"))))


def test_the_mail_house_manifest_neutralises_formula_names_and_addresses(tmp_path):
    from types import SimpleNamespace

    day = tmp_path / "2026-11-23"
    day.mkdir()
    letter = SimpleNamespace(
        chunk=None, path=f"2026-11-23/{_pdf(day / 'DL-1.pdf').name}", reference="DL-1", loan_id=1,
        addressee='=HYPERLINK("http://x","click")', address="@SUM(1+1)", pages=1, sha256="ab", template="t",
        locale="zh_CN",
    )  # fmt: skip
    batch = write_print_batch(day, "mailhouse-2026-11-23-01", [letter], {1: "LN1"})
    [row] = _manifest_rows(batch.manifest)
    assert row["borrower"] == "'=HYPERLINK(\"http://x\",\"click\")" and row["address"] == "'@SUM(1+1)"
    assert row["loan"] == "LN1" and row["pages"] == "1"


def test_the_legal_hand_off_index_neutralises_formula_names(tmp_path):
    pack = {"legal_case": {"reference": "LC-1", "overdue_total": "5.00"}, "loan": {"loan_no": "LN1", "currency": "CNY"},
            "borrower": {"name": "=cmd|' /C calc'!A0"}}  # fmt: skip
    write_index([pack], tmp_path)
    [row] = _manifest_rows(tmp_path / "legal-cases.csv")
    assert row["borrower"] == "'=cmd|' /C calc'!A0" and row["reference"] == "LC-1"


def test_a_file_that_cannot_be_written_names_its_directory_and_leaves_nothing_half_written(tmp_path, monkeypatch):
    target = tmp_path / "letters" / "DL-1.pdf"

    def disk_full(*_args: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", disk_full)
    with pytest.raises(ArchiveUnwritable, match=f"cannot write to {target.parent}: No space left on device"):
        write_atomically(target, b"%PDF-1.7 ...")
    assert list(target.parent.iterdir()) == []  # the temporary file went too


def test_a_bad_policy_is_told_in_one_line_without_a_traceback(tmp_path, fork_server):
    bad = tmp_path / "policy.yaml"
    bad.write_text("version: 1\nstages: {buckets: []}\n", encoding="utf-8")
    env = {**os.environ, "ARREARS_POLICY_PATH": str(bad), "ARREARS_VAR_DIR": str(tmp_path / "var")}
    done = fork_server.capture(["loans"], env, timeout=120)
    assert done.returncode == 2
    assert "Traceback" not in done.stderr and done.stderr.startswith(f"error: {bad}: ")
    debug = fork_server.capture(["--debug", "loans"], env, timeout=120)
    assert "Traceback" in debug.stderr
