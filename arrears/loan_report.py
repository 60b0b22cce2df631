"""Per-loan positions for the CLI (`arrears loans`): stored ones, or computed live."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import Engine, text

from arrears.money import from_cents
from arrears.policy import load_policy
from arrears.positions import position_for
from arrears.settings import Settings
from arrears.store import DAY
from arrears.store.book import loan_batches, read_books


def _money(v: Decimal) -> str:
    return f"{v:.2f}"


def _row(loan_no: str, borrower_id: str, dpd: int, stage: str, risk: str, parts: list[Decimal]) -> dict[str, Any]:
    keys = ("principal", "interest", "penalty", "fees", "total")
    return {
        "loan_no": loan_no,
        "borrower_id": borrower_id,
        "dpd": dpd,
        "stage": stage,
        "risk": risk,
        "overdue": {k: _money(v) for k, v in zip(keys, parts, strict=True)},
    }


def loan_positions(
    *, engine: Engine, settings: Settings, as_of: date, stage: str | None, limit: int = 0
) -> tuple[list[dict[str, Any]], bool]:
    """(rows ordered by loan_no, whether they came from a stored run)."""
    sql = (
        "SELECT l.loan_no, l.borrower_id, p.dpd, p.stage, p.risk, p.overdue_principal,"
        " p.overdue_interest, p.overdue_penalty, p.overdue_fees, p.overdue_total"
        " FROM position p JOIN loan l ON l.id = p.loan_id WHERE p.as_of = :d"
        + (" AND p.stage = :stage" if stage else "")
        + " ORDER BY l.loan_no"
    )
    with engine.connect() as conn:
        was_run = conn.execute(
            text("SELECT 1 FROM position WHERE as_of = :d LIMIT 1").bindparams(DAY),
            {"d": as_of},
        ).first()
        stored = [
            _row(no, bid, dpd, st, risk, [from_cents(c) for c in cents])
            for no, bid, dpd, st, risk, *cents in conn.execute(text(sql).bindparams(DAY), {"d": as_of, "stage": stage})
        ]
        if was_run:
            return (stored[:limit] if limit else stored), True
        policy = load_policy(settings.policy_path)
        rows = []
        for batch in loan_batches(engine=engine, size=settings.batch_size):
            for book in read_books(conn, batch.first_loan_id, batch.last_loan_id, as_of):
                p = position_for(book, as_of, policy)
                if stage is None or p.stage == stage:
                    rows.append(
                        _row(
                            book.loan_no,
                            book.borrower_id,
                            p.dpd,
                            p.stage,
                            p.risk,
                            [
                                p.overdue_principal,
                                p.overdue_interest,
                                p.overdue_penalty,
                                p.overdue_fees,
                                p.overdue_total,
                            ],
                        )
                    )
    rows.sort(key=lambda r: r["loan_no"])
    return (rows[:limit] if limit else rows), False
