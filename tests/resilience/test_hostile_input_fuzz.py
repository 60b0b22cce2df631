"""A fuzzed CSV corpus (Hypothesis): wrong types, huge fields, other encodings (GBK, Latin-1), NUL
bytes, missing and extra columns, duplicated keys, dates at the calendar's ends, formula injection
in names and addresses. Every row is imported or quarantined with a reason — never a traceback —
and the good rows always go in. Every CSV Arrears writes for people neutralises formula cells."""

from __future__ import annotations

import csv
import io
import itertools
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text

from arrears.book.reader import BookFileError
from arrears.db import make_engine, upgrade
from arrears.steps.importing import import_book
from arrears.templating.formats import FORMULA_LEADS, write_csv
from tests.factories import BORROWER_HEADER, INSTALLMENT_HEADER, LOAN_HEADER, PAYMENT_HEADER

COUNTER = itertools.count(1)
TAIL = "110101199003071234,13812345678,g{}@example.cn,北京,zh_CN,Asia/Shanghai,true,true"
FORMULAS = ["=HYPERLINK(\"http://evil.example\",\"pay\")", "=cmd|' /C calc'!A0", "+1+1", "-2+3", "@SUM(A1)"]
JUNK = st.one_of(
    st.text(max_size=40),
    st.sampled_from(["", "NaN", "1e20", "-5", "0x1F", "9999-12-31", "0001-01-01", "2026-02-30", "true", "是", "\x00",
                     "  ", "\ufeff", "1" * 200_000, *FORMULAS]),  # fmt: skip
)
ENCODINGS = st.sampled_from(["utf-8", "utf-8", "utf-8", "gbk", "latin-1"])


def _encode(line: str, encoding: str) -> bytes:
    return line.encode(encoding, errors="replace")


@st.composite
def hostile_book(draw):  # type: ignore[no-untyped-def]
    """One good borrower with a good loan and schedule, plus hostile rows in every file."""
    n = next(COUNTER)
    good_b, good_l = f"GB{n}", f"GL{n}"
    good = {
        "borrowers.csv": (BORROWER_HEADER, f"{good_b},好人{n}," + TAIL.format(n)),
        "loans.csv": (LOAN_HEADER, f"{good_l},{good_b},consumer,CNY,1200.00,0.18,0.0005,50.00,3,2026-01-05"),
        "installments.csv": (INSTALLMENT_HEADER, f"{good_l},1,2026-02-05,1200.00,18.00,0.00"),
        "payments.csv": (PAYMENT_HEADER, f"{good_l},2026-02-05,100.00,GP{n}"),
    }  # fmt: skip
    files = {name: [header.encode(), row.encode()] for name, (header, row) in good.items()}
    for name in files:
        width = len(files[name][0].split(b","))
        for _ in range(draw(st.integers(0, 4))):
            cells = draw(st.lists(JUNK, min_size=width - 2, max_size=width + 2))  # missing and extra columns
            if name == "borrowers.csv" and draw(st.booleans()):
                cells[:2] = [good_b, draw(st.sampled_from(FORMULAS))]  # a duplicated key, a formula name
            buf = io.StringIO()
            csv.writer(buf, lineterminator="").writerow(cells)
            files[name].append(_encode(buf.getvalue(), draw(ENCODINGS)))
    return good_b, good_l, {name: b"\n".join(lines) + b"\n" for name, lines in files.items()}


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(book=hostile_book())
def test_every_hostile_row_is_imported_or_quarantined_and_the_good_rows_go_in(book, tmp_path_factory):
    good_b, good_l, files = book
    folder = tmp_path_factory.mktemp("fuzz")
    for name, data in files.items():
        (folder / name).write_bytes(data)
    engine = _engine(tmp_path_factory)
    try:
        result = import_book(engine=engine, directory=folder)
    except BookFileError as err:  # only a whole file nobody can read is refused, with its name
        raise AssertionError(f"a file with a good header was refused: {err}") from err
    read = sum(result.rows_read.values())
    assert sum(result.rows_imported.values()) <= read and all(p.reason for p in result.problems)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT COUNT(*) FROM borrower WHERE borrower_id = :b"), {"b": good_b}).scalar() == 1
        assert conn.execute(text("SELECT COUNT(*) FROM loan WHERE loan_no = :l"), {"l": good_l}).scalar() == 1


_ENGINES: dict[str, object] = {}


def _engine(factory):  # type: ignore[no-untyped-def]
    """One migrated SQLite database for the whole corpus (each example's keys are its own)."""
    if "e" not in _ENGINES:
        engine = make_engine(f"sqlite:///{factory.mktemp('fuzzdb') / 'arrears.db'}")
        upgrade(engine)
        _ENGINES["e"] = engine
    return _ENGINES["e"]


@given(cells=st.lists(st.one_of(st.text(max_size=30), st.sampled_from(FORMULAS)), min_size=1, max_size=6))
def test_no_csv_arrears_writes_carries_a_live_formula(cells):
    columns = [f"c{i}" for i in range(len(cells))]
    buf = io.StringIO()
    write_csv(buf, columns, [dict(zip(columns, cells, strict=True))])
    header, *rows = list(csv.reader(io.StringIO(buf.getvalue())))
    assert header == columns and rows
    assert not any(cell.startswith(FORMULA_LEADS) for row in rows for cell in row)


def test_a_utf16_file_is_refused_naming_it_and_nothing_is_imported(tmp_path: Path, fresh_db):
    (tmp_path / "borrowers.csv").write_bytes((BORROWER_HEADER + "\n").encode("utf-16"))
    for name, header in (("loans.csv", LOAN_HEADER), ("installments.csv", INSTALLMENT_HEADER)):
        (tmp_path / name).write_text(header + "\n", encoding="utf-8")
    try:
        import_book(engine=fresh_db, directory=tmp_path)
    except BookFileError as err:
        assert "borrowers.csv: UTF-16, not UTF-8" in str(err)
    else:
        raise AssertionError("a UTF-16 file was read")
