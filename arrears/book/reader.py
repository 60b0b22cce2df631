"""Read the loan book's CSV files and sort every row into good records or problems.

A bad row is never fatal: it becomes a ``Problem`` (file, line, column, reason,
masked row) and the good rows go through — a row the CSV reader itself cannot read (a field
over ``FIELD_LIMIT`` characters, say) too. A file that cannot be read at all (missing, not UTF-8,
header without a required column) raises ``BookFileError``.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from arrears.book.records import (
    DEFAULT_LIMITS,
    FieldError,
    Limits,
    parse_borrower,
    parse_contact,
    parse_installment,
    parse_loan,
    parse_payment,
)
from arrears.privacy import mask_row

FIELD_LIMIT = 131_072  # characters in one CSV field (the csv module's own default, stated)


class BookFileError(Exception):
    """A file of the book cannot be read at all."""


@dataclass(frozen=True)
class FileSpec:
    name: str
    columns: tuple[str, ...]  # required header columns
    parse: Callable[[dict[str, str], Limits], Any]
    key: Callable[[Any], Any]
    required: bool = True


SPECS = (
    FileSpec(
        "borrowers.csv",
        (
            "borrower_id",
            "name",
            "id_number",
            "phone",
            "email",
            "address",
            "locale",
            "timezone",
            "sms_consent",
            "email_consent",
        ),
        parse_borrower,
        lambda r: r.borrower_id,
    ),
    FileSpec(
        "loans.csv",
        (
            "loan_no",
            "borrower_id",
            "product",
            "currency",
            "principal",
            "annual_rate",
            "penalty_rate_daily",
            "late_fee",
            "grace_days",
            "contract_date",
        ),
        parse_loan,
        lambda r: r.loan_no,
    ),
    FileSpec(
        "installments.csv",
        ("loan_no", "seq", "due_date", "principal_due", "interest_due", "fee_due"),
        parse_installment,
        lambda r: (r.loan_no, r.seq),
    ),
    FileSpec("payments.csv", ("loan_no", "paid_on", "amount", "reference"), parse_payment, lambda r: r.reference),
    FileSpec(
        "contacts.csv",
        ("borrower_id", "name", "relation", "phone", "consent"),
        parse_contact,
        lambda r: (r.borrower_id, r.phone),
        required=False,
    ),
)


@dataclass(frozen=True)
class Problem:
    file: str
    line: int
    column: str | None
    reason: str
    row: dict[str, str]


@dataclass
class ValidatedBook:
    records: dict[str, list[Any]] = field(default_factory=dict)  # file name -> good records
    problems: list[Problem] = field(default_factory=list)
    rows_read: dict[str, int] = field(default_factory=dict)

    def good(self, name: str) -> list[Any]:
        return self.records.get(name, [])


def read_rows(path: Path, columns: Iterable[str]) -> list[tuple[int, dict[str, str] | str]]:
    """Rows of a UTF-8 CSV file (BOM tolerated) with the line each starts on; a row the CSV reader
    cannot read is the reason instead of the row."""
    try:
        data = path.read_bytes()
    except OSError as err:
        raise BookFileError(f"{path.name}: cannot read ({err.strerror})") from None
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise BookFileError(f"{path.name}: UTF-16, not UTF-8: save the file as UTF-8")
    # bytes that are not UTF-8 are kept as surrogates: the rows holding them are quarantined, not the file
    text = data.decode("utf-8-sig", errors="surrogateescape")
    lines = _Lines(text)
    csv.field_size_limit(FIELD_LIMIT)
    reader = csv.DictReader(lines)
    try:
        header = [h.strip() for h in (reader.fieldnames or [])]
    except csv.Error as err:
        raise BookFileError(f"{path.name}:1: the header cannot be read ({err})") from None
    if any(_NOT_UTF8.search(h) for h in header):
        raise BookFileError(f"{path.name}:1: the header is not UTF-8: save the file as UTF-8")
    missing = [c for c in columns if c not in header]
    if missing:
        raise BookFileError(f"{path.name}: header lacks column(s) {', '.join(missing)}")
    reader.fieldnames = header
    rows: list[tuple[int, dict[str, str] | str]] = []
    while True:
        start = lines.read + 1
        try:
            row = next(reader)
        except StopIteration:
            return rows
        except csv.Error as err:  # the reader goes on with the next record
            rows.append((start, f"unreadable row: {err}"))
            continue
        if any(isinstance(v, str) and _NOT_UTF8.search(v) for v in row.values()):
            rows.append((start, NOT_UTF8))  # GBK, Latin-1...: the row cannot be read as written
            continue
        rows.append((start, {k: v for k, v in row.items() if k is not None}))


_NOT_UTF8 = re.compile("[\udc80-\udcff]")
NOT_UTF8 = "not UTF-8 (GBK or another encoding?): save the file as UTF-8"


class _Lines:
    """The file's lines as the CSV reader takes them, counted (its own count stops at a bad row)."""

    def __init__(self, text: str) -> None:
        self._lines = iter(io.StringIO(text, newline=""))
        self.read = 0

    def __iter__(self) -> _Lines:
        return self

    def __next__(self) -> str:
        line = next(self._lines)
        self.read += 1
        return line


def validate_book(
    directory: Path,
    known_borrowers: Callable[[set[str]], set[str]],
    known_loans: Callable[[set[str]], set[str]],
    limits: Limits = DEFAULT_LIMITS,
) -> ValidatedBook:
    """Parse and cross-check every file; ``known_*`` say which ids already exist in the database."""
    files = {}
    for spec in SPECS:
        path = directory / spec.name
        if not path.exists():
            if spec.required:
                raise BookFileError(f"{spec.name}: missing from {directory}")
            continue
        files[spec.name] = read_rows(path, spec.columns)  # read all first: an unreadable file imports nothing
    book = ValidatedBook()
    for spec in SPECS:
        if spec.name in files:
            _parse_file(book, spec, files[spec.name], limits)
    _check_references(book, known_borrowers, known_loans)
    return book


def _parse_file(
    book: ValidatedBook, spec: FileSpec, rows: list[tuple[int, dict[str, str] | str]], limits: Limits
) -> None:
    seen: dict[Any, int] = {}
    good = []
    for line, row in rows:
        if isinstance(row, str):
            book.problems.append(Problem(spec.name, line, None, row, {}))
            continue
        try:
            record = spec.parse(row, limits)
        except FieldError as err:
            book.problems.append(Problem(spec.name, line, err.column, err.reason, mask_row(row)))
            continue
        key = spec.key(record)
        if key in seen:
            shown = "/".join(map(str, key)) if isinstance(key, tuple) else key
            book.problems.append(
                Problem(spec.name, line, None, f"duplicate key {shown} (first on line {seen[key]})", mask_row(row))
            )
            continue
        seen[key] = line
        good.append((line, row, record))
    book.records[spec.name] = good
    book.rows_read[spec.name] = len(rows)


def _check_references(
    book: ValidatedBook,
    known_borrowers: Callable[[set[str]], set[str]],
    known_loans: Callable[[set[str]], set[str]],
) -> None:
    borrowers = {r.borrower_id for _, _, r in book.good("borrowers.csv")}
    loans_ref = {r.borrower_id for _, _, r in book.good("loans.csv")} | {
        r.borrower_id for _, _, r in book.good("contacts.csv")
    }
    borrowers |= known_borrowers(loans_ref - borrowers)
    _keep(
        book,
        "loans.csv",
        lambda r: r.borrower_id in borrowers,
        "borrower_id",
        "unknown borrower {}",
        lambda r: r.borrower_id,
    )
    _keep(
        book,
        "contacts.csv",
        lambda r: r.borrower_id in borrowers,
        "borrower_id",
        "unknown borrower {}",
        lambda r: r.borrower_id,
    )
    loans = {r.loan_no for _, _, r in book.good("loans.csv")}
    referenced = {r.loan_no for name in ("installments.csv", "payments.csv") for _, _, r in book.good(name)}
    loans |= known_loans(referenced - loans)
    for name in ("installments.csv", "payments.csv"):
        _keep(book, name, lambda r: r.loan_no in loans, "loan_no", "unknown loan {}", lambda r: r.loan_no)
    for name, good in book.records.items():
        book.records[name] = [record for _, _, record in good]


def _keep(
    book: ValidatedBook, name: str, ok: Callable[[Any], bool], column: str, reason: str, ref: Callable[[Any], str]
) -> None:
    kept = []
    for line, row, record in book.good(name):
        if ok(record):
            kept.append((line, row, record))
        else:
            book.problems.append(Problem(name, line, column, reason.format(ref(record)), mask_row(row)))
    book.records[name] = kept


def validate_payments(
    path: Path, known_loans: Callable[[set[str]], set[str]], limits: Limits = DEFAULT_LIMITS
) -> ValidatedBook:
    """A bank's payment file (``arrears pay import``): the columns of ``payments.csv``; bad rows
    and payments of unknown loans quarantined with the file's own name and line."""
    spec = replace(next(s for s in SPECS if s.name == "payments.csv"), name=path.name)
    book = ValidatedBook()
    _parse_file(book, spec, read_rows(path, spec.columns), limits)
    loans = known_loans({r.loan_no for _, _, r in book.good(spec.name)})
    _keep(book, spec.name, lambda r: r.loan_no in loans, "loan_no", "unknown loan {}", lambda r: r.loan_no)
    book.records[spec.name] = [record for _, _, record in book.good(spec.name)]
    return book
