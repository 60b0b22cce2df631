"""Payments recorded one at a time, as they arrive (the payment webhook, ``arrears pay import``):
once per bank reference."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import Connection
from sqlalchemy.dialects import postgresql, sqlite

from arrears.store.loans import bump_versions
from models import Payment

PT = Payment.__table__  # type: ignore[attr-defined]


def insert_payment(conn: Connection, loan_id: int, paid_on: date, amount: Decimal, reference: str) -> bool:
    """Record the payment; False when its reference is already there (a replay, a file read twice)."""
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    stmt = dialect.insert(PT).values(loan_id=loan_id, paid_on=paid_on, amount=amount, reference=reference)
    stmt = stmt.on_conflict_do_nothing(index_elements=["reference"]).returning(PT.c.id)
    new = conn.execute(stmt).first() is not None  # (rowcount is -1 on PostgreSQL: not a count)
    if new:
        bump_versions(conn, [loan_id])
    return new
