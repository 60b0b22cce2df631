"""Write and read positions. A batch's positions for a day are replaced as a whole,
so re-running a day rewrites the same rows."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

from sqlalchemy import Connection, bindparam, text

from arrears.engine import PositionRow
from arrears.money import from_cents, to_cents
from arrears.planning import PositionView
from arrears.store import DAY, optional_date, rows_on

COLUMNS = (
    "as_of",
    "loan_id",
    "dpd",
    "stage",
    "risk",
    "overdue_principal",
    "overdue_interest",
    "overdue_penalty",
    "overdue_fees",
    "overdue_total",
    "outstanding_principal",
    "credit",
    "times_late",
    "next_due_date",
    "input_version",
)


def _tuple(as_of: date, p: PositionRow, version: int = 0) -> tuple[object, ...]:
    return (
        as_of,
        p.loan_id,
        p.dpd,
        p.stage,
        p.risk,
        to_cents(p.overdue_principal),
        to_cents(p.overdue_interest),
        to_cents(p.overdue_penalty),
        to_cents(p.overdue_fees),
        to_cents(p.overdue_total),
        to_cents(p.outstanding_principal),
        to_cents(p.credit),
        p.times_late,
        p.next_due_date,
        version,
    )


def replace_positions(
    conn: Connection,
    as_of: date,
    first_loan_id: int,
    last_loan_id: int,
    rows: Sequence[PositionRow],
    versions: Mapping[int, int] | None = None,
    copy_from: date | None = None,
) -> None:
    """Replace the day's positions of loans ``first..last`` (COPY on PostgreSQL) with ``rows``
    (computed with the loans' input ``versions``); with ``copy_from``, the loans of the range not
    among them (not staged in ``arrears_todo``: see ``stage_loans``) keep that day's position."""
    conn.execute(
        text("DELETE FROM position WHERE as_of = :d AND loan_id BETWEEN :lo AND :hi").bindparams(DAY),
        {"d": as_of, "lo": first_loan_id, "hi": last_loan_id},
    )
    if copy_from is not None:
        cols = ", ".join(COLUMNS[1:])
        conn.execute(
            text(
                f"INSERT INTO position (as_of, {cols}) SELECT :d, {cols} FROM position"  # noqa: S608
                " WHERE as_of = :p AND loan_id BETWEEN :lo AND :hi"
                " AND loan_id NOT IN (SELECT loan_id FROM arrears_todo)"
            ).bindparams(DAY, bindparam("p", type_=DAY.type)),
            {"d": as_of, "p": copy_from, "lo": first_loan_id, "hi": last_loan_id},
        )
    versions = versions or {}
    data = [_tuple(as_of, p, versions.get(p.loan_id, 0)) for p in rows]
    dbapi = conn.connection.driver_connection
    if conn.dialect.name == "postgresql":
        with dbapi.cursor() as cur, cur.copy(f"COPY position ({', '.join(COLUMNS)}) FROM STDIN") as copy:  # type: ignore[union-attr]
            for row in data:
                copy.write_row(row)
    else:
        marks = ", ".join("?" * len(COLUMNS))
        dbapi.executemany(
            f"INSERT INTO position ({', '.join(COLUMNS)}) VALUES ({marks})",  # type: ignore[union-attr]
            [(r[0].isoformat(), *r[1:13], r[13].isoformat() if r[13] else None, r[14]) for r in data],
        )


def actionable_borrowers(conn: Connection, as_of: date) -> list[str]:
    """Borrowers with at least one loan not current on ``as_of``, in order."""
    sql = (
        "SELECT DISTINCT l.borrower_id FROM position p JOIN loan l ON l.id = p.loan_id"
        " WHERE p.as_of = :d AND p.stage <> 'current' ORDER BY l.borrower_id"
    )
    return [r[0] for r in rows_on(conn, sql, as_of)]


def read_position_views(conn: Connection, as_of: date, first_borrower: str, last_borrower: str) -> list[PositionView]:
    """Positions (not current) of borrowers ``first..last`` on ``as_of``, for planning."""
    sql = (
        "SELECT p.loan_id, l.loan_no, l.borrower_id, p.stage, p.risk, p.dpd, p.next_due_date, p.overdue_total"
        " FROM position p JOIN loan l ON l.id = p.loan_id"
        " WHERE p.as_of = :d AND p.stage <> 'current' AND l.borrower_id BETWEEN :lo AND :hi"
    )
    return [
        PositionView(loan_id, loan_no, borrower_id, stage, risk, dpd, optional_date(due), from_cents(total))
        for loan_id, loan_no, borrower_id, stage, risk, dpd, due, total in rows_on(
            conn, sql, as_of, lo=first_borrower, hi=last_borrower
        )
    ]


def day_was_run(conn: Connection, as_of: date) -> bool:
    """Whether positions are stored for ``as_of``."""
    found = conn.execute(text("SELECT 1 FROM position WHERE as_of = :d LIMIT 1").bindparams(DAY), {"d": as_of})
    return found.first() is not None


def stored_positions(conn: Connection, as_of: date, stage: str | None = None) -> list[Any]:
    """(loan_no, borrower_id, dpd, stage, risk, overdue parts in cents) per loan on ``as_of``, by loan number."""
    sql = (
        "SELECT l.loan_no, l.borrower_id, p.dpd, p.stage, p.risk, p.overdue_principal,"
        " p.overdue_interest, p.overdue_penalty, p.overdue_fees, p.overdue_total"
        " FROM position p JOIN loan l ON l.id = p.loan_id WHERE p.as_of = :d"
        + (" AND p.stage = :stage" if stage else "")
        + " ORDER BY l.loan_no"
    )
    return list(conn.execute(text(sql).bindparams(DAY), {"d": as_of, "stage": stage}))


def incremental_since(conn: Connection, as_of: date, policy_hash: str) -> date | None:
    """The last run day before ``as_of`` if its latest run used this policy, else None."""
    prev = conn.execute(
        text("SELECT MAX(as_of) FROM position WHERE as_of < :d").bindparams(DAY), {"d": as_of}
    ).scalar()
    if prev is None:
        return None
    prev_day = prev if isinstance(prev, date) else date.fromisoformat(str(prev))
    used = conn.execute(
        text("SELECT policy_hash FROM collection_run WHERE as_of = :p ORDER BY id DESC LIMIT 1").bindparams(
            bindparam("p", type_=DAY.type)
        ),
        {"p": prev_day},
    ).scalar()
    return prev_day if used == policy_hash else None
