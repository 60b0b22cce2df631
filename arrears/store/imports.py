"""Write a validated book to the database: upserts on the natural keys, so a
re-import of the same files changes nothing; the import run and its quarantined rows."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Table, or_, select
from sqlalchemy.dialects import postgresql, sqlite

from arrears.book.reader import ValidatedBook
from arrears.store.loans import bump_versions
from models import Borrower, Contact, ImportRun, Installment, Loan, Payment, QuarantinedRow
from models.types import utcnow

CHUNK = 1000


def known_borrowers(conn: Connection, ids: set[str]) -> set[str]:
    """Which of these borrower ids are in the database already."""
    return _existing(conn, Borrower.__table__, "borrower_id", ids)  # type: ignore[attr-defined]


def known_loans(conn: Connection, loan_nos: set[str]) -> set[str]:
    return _existing(conn, Loan.__table__, "loan_no", loan_nos)  # type: ignore[attr-defined]


def _existing(conn: Connection, table: Table, column: str, ids: set[str]) -> set[str]:
    found: set[str] = set()
    ids_list = sorted(ids)
    for i in range(0, len(ids_list), CHUNK):
        chunk = ids_list[i : i + CHUNK]
        found |= set(conn.scalars(select(table.c[column]).where(table.c[column].in_(chunk))))
    return found


def upsert(
    conn: Connection, table: Table, rows: Sequence[dict[str, Any]], keys: Sequence[str], changed: str | None = None
) -> set[Any]:
    """INSERT ... ON CONFLICT (keys) DO UPDATE for SQLite and PostgreSQL; a row whose values are the
    same is left alone. Returns the ``changed`` column of the rows inserted or changed."""
    out: set[Any] = set()
    if not rows:
        return out
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    for i in range(0, len(rows), CHUNK):
        stmt = dialect.insert(table).values(list(rows[i : i + CHUNK]))
        updates = {c: stmt.excluded[c] for c in rows[0] if c not in keys}
        differs = or_(*(table.c[c].is_distinct_from(stmt.excluded[c]) for c in updates))
        stmt = (
            stmt.on_conflict_do_update(index_elements=list(keys), set_=updates, where=differs)
            if updates
            else stmt.on_conflict_do_nothing(index_elements=list(keys))
        )
        if changed is None:
            conn.execute(stmt)
        else:
            out.update(conn.execute(stmt.returning(table.c[changed])).scalars())
    return out


def _rows(records: Iterable[Any], **extra: Any) -> list[dict[str, Any]]:
    return [{**asdict(r), **extra} for r in records]


def write_book(
    conn: Connection, book: ValidatedBook, protect: Callable[[str], dict[str, str]]
) -> dict[str, int]:
    """Upsert the good rows; ``protect`` turns an ID number into its stored columns (masked,
    encrypted, look-up hash: see ``arrears.vault``). Returns rows imported per file."""
    now = utcnow()
    borrowers = [{**r, **protect(r["id_number"])} for r in _rows(book.good("borrowers.csv"), updated_at=now)]
    upsert(conn, Borrower.__table__, borrowers, ["borrower_id"])  # type: ignore[attr-defined]
    changed = upsert(conn, Loan.__table__, _rows(book.good("loans.csv")), ["loan_no"], "id")  # type: ignore[attr-defined]
    loan_ids = _loan_ids(conn, {r.loan_no for n in ("installments.csv", "payments.csv") for r in book.good(n)})
    installments = [
        {"loan_id": loan_ids[r.loan_no], **{k: v for k, v in asdict(r).items() if k != "loan_no"}}
        for r in book.good("installments.csv")
    ]
    changed |= upsert(conn, Installment.__table__, installments, ["loan_id", "seq"], "loan_id")  # type: ignore[attr-defined]
    payments = [
        {"loan_id": loan_ids[r.loan_no], "paid_on": r.paid_on, "amount": r.amount, "reference": r.reference}
        for r in book.good("payments.csv")
    ]
    changed |= upsert(conn, Payment.__table__, payments, ["reference"], "loan_id")  # type: ignore[attr-defined]
    bump_versions(conn, changed)
    upsert(conn, Contact.__table__, _rows(book.good("contacts.csv")), ["borrower_id", "phone"])  # type: ignore[attr-defined]
    return {name: len(records) for name, records in book.records.items()}


def _loan_ids(conn: Connection, loan_nos: set[str]) -> dict[str, int]:
    ids: dict[str, int] = {}
    nos = sorted(loan_nos)
    for i in range(0, len(nos), CHUNK):
        ids.update(conn.execute(select(Loan.loan_no, Loan.id).where(Loan.loan_no.in_(nos[i : i + CHUNK]))).all())  # type: ignore[attr-defined,arg-type]
    return ids


def record_import_run(conn: Connection, directory: Path, book: ValidatedBook, imported: dict[str, int]) -> int:
    """The import run with its quarantined rows (file, line, column, reason, masked row)."""
    run = conn.execute(
        ImportRun.__table__.insert().values(  # type: ignore[attr-defined]
            source=str(directory.resolve()),
            started_at=utcnow(),
            rows_read=sum(book.rows_read.values()),
            rows_imported=sum(imported.values()),
            rows_quarantined=len(book.problems),
        )
    )
    run_id = int(run.inserted_primary_key[0])
    if book.problems:
        conn.execute(
            QuarantinedRow.__table__.insert(),  # type: ignore[attr-defined]
            [
                {
                    "import_run_id": run_id,
                    "file": p.file,
                    "line": p.line,
                    "column": p.column,
                    "reason": p.reason,
                    "row": json.dumps(p.row, ensure_ascii=False),
                }
                for p in book.problems
            ],
        )
    return run_id

