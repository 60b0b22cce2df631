"""Letters in the database: which planned letters still need a PDF, and the archive record."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, select, text, update
from sqlalchemy.dialects import postgresql, sqlite

from arrears.letters.facts import LetterSource
from arrears.money import from_cents
from arrears.store import DAY, as_date
from arrears.store.actions import PLANNED_WITH_POSITION
from models import Letter
from models.letter import FAILED, RENDERED

L = Letter.__table__  # type: ignore[attr-defined]


def letters_to_render(conn: Connection, as_of: date) -> list[LetterSource]:
    """The day's planned letter actions with no rendered letter yet (new, or failed before)."""
    rows = conn.execute(
        text(
            "SELECT a.key, a.action, a.template, a.borrower_id, b.name, b.address, b.locale,"
            " l.id AS loan_id, l.loan_no, l.product, l.currency, l.principal, l.penalty_rate_daily, l.contract_date,"
            " p.dpd, p.overdue_principal, p.overdue_interest, p.overdue_penalty, p.overdue_fees, p.overdue_total"
            + PLANNED_WITH_POSITION
            + " LEFT JOIN letter t ON t.key = a.key"
            " WHERE a.as_of = :d AND a.channel = 'letter' AND a.status = 'planned'"
            " AND (t.id IS NULL OR t.status = 'failed')"
            " ORDER BY a.key"
        ).bindparams(DAY),
        {"d": as_of},
    ).all()
    return [
        source_from(
            r,
            key=r.key,
            action=r.action,
            template=r.template,
            as_of=as_of,
            dpd=r.dpd,
            overdue=tuple(
                from_cents(v)
                for v in (r.overdue_principal, r.overdue_interest, r.overdue_penalty, r.overdue_fees, r.overdue_total)
            ),
        )
        for r in rows
    ]


def source_from(
    r: Any, *, key: str, action: str, template: str, as_of: date, dpd: int, overdue: tuple[Decimal, ...]
) -> LetterSource:
    """A letter's source from a row of loan and borrower columns (``loan_id``, ``loan_no``,
    ``product``, ``currency``, ``principal`` in cents, ``penalty_rate_daily``, ``contract_date``,
    ``borrower_id``, ``name``, ``address``, ``locale``) and the day's figures."""
    principal, interest, penalty, fees, total = overdue
    return LetterSource(
        key=key,
        action=action,
        template=template,
        as_of=as_of,
        borrower_id=r.borrower_id,
        name=r.name,
        address=r.address,
        locale=r.locale,
        loan_id=r.loan_id,
        loan_no=r.loan_no,
        product=r.product,
        currency=r.currency,
        principal=from_cents(r.principal),
        penalty_rate_daily=Decimal(r.penalty_rate_daily),
        contract_date=as_date(r.contract_date),
        dpd=dpd,
        overdue=(principal, interest, penalty, fees, total),
    )


def existing(conn: Connection, keys: Sequence[str]) -> dict[str, Any]:
    """Letter rows by key."""
    found: dict[str, Any] = {}
    for i in range(0, len(keys), 500):
        part = list(keys[i : i + 500])
        found.update({r.key: r for r in conn.execute(select(L).where(L.c.key.in_(part))).all()})
    return found


def record(conn: Connection, rows: Sequence[dict[str, Any]], now: datetime) -> None:
    """Insert each letter, or update the row of a letter that failed before (never a rendered one)."""
    if not rows:
        return
    have = existing(conn, [r["key"] for r in rows])
    fresh = [dict(r, created_at=now, updated_at=now) for r in rows if r["key"] not in have]
    if fresh:  # a letter another process recorded meanwhile keeps its row (same key, same bytes)
        dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
        for i in range(0, len(fresh), 500):  # well under SQLite's limit of bound parameters
            part = fresh[i : i + 500]
            conn.execute(dialect.insert(L).values(part).on_conflict_do_nothing(index_elements=["key"]))
    for r in rows:
        old = have.get(r["key"])
        if old is not None and old.status == FAILED:
            values = {k: v for k, v in r.items() if k != "key"}
            conn.execute(update(L).where(L.c.key == r["key"], L.c.status == FAILED).values(**values, updated_at=now))


def rendered(conn: Connection, as_of: date) -> list[Any]:
    return list(conn.execute(select(L).where(L.c.as_of == as_of, L.c.status == RENDERED).order_by(L.c.key)).all())


def unprinted(conn: Connection, as_of: date) -> list[Any]:
    """Rendered letters of the day not yet in a mail-house batch, in key order."""
    return list(
        conn.execute(
            select(L).where(L.c.as_of == as_of, L.c.status == RENDERED, L.c.print_batch.is_(None)).order_by(L.c.key)
        ).all()
    )


def print_batches(conn: Connection, as_of: date) -> list[str]:
    rows = conn.execute(
        select(L.c.print_batch).where(L.c.as_of == as_of, L.c.print_batch.is_not(None)).distinct()
    ).all()
    return sorted(r[0] for r in rows)


def mark_printed(conn: Connection, keys: Sequence[str], batch: str, now: datetime) -> None:
    for i in range(0, len(keys), 500):
        conn.execute(
            update(L)
            .where(L.c.key.in_(list(keys[i : i + 500])), L.c.print_batch.is_(None))
            .values(print_batch=batch, updated_at=now)
        )


def counts(conn: Connection, as_of: date) -> dict[str, int]:
    rows = conn.execute(
        text("SELECT status, COUNT(*) FROM letter WHERE as_of = :d GROUP BY status").bindparams(DAY), {"d": as_of}
    ).all()
    return {r[0]: r[1] for r in rows}


def failures(conn: Connection, as_of: date, limit: int = 50) -> list[str]:
    rows = conn.execute(
        select(L.c.error).where(L.c.as_of == as_of, L.c.status == FAILED).order_by(L.c.key).limit(limit)
    ).all()
    return [r.error or "" for r in rows]
