"""Retention: personal data of borrowers whose collection ended long enough ago is anonymised.

A borrower qualifies on ``as_of`` when they have at least one collection case, none open, the
last one closed before ``as_of - days``, and no installment of any loan falls due on or after
that cutoff (the relationship is over, not just a cured case on a running loan). Anonymising
clears name, ID number (masked copy, ciphertext and look-up hash), phone, email, address, their
third-party contacts, message recipients and bodies, notes and free text on calls, promises,
disputes and hardship, and deletes their archived letter PDFs. Amounts, dates, stages, statuses
and counts stay, so every aggregate figure (positions, roll rates, recovery, contacts per cure)
is unchanged.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path

from sqlalchemy import Connection, bindparam, text

from arrears.store import DAY

ANONYMISED = "(anonymised)"
CHUNK = 500


@dataclass
class RetentionReport:
    cutoff: date
    borrowers: list[str] = field(default_factory=list)
    letters_deleted: int = 0


def due_for_retention(conn: Connection, as_of: date, days: int) -> tuple[date, list[str]]:
    cutoff = as_of - timedelta(days=days)
    rows = conn.execute(
        text(
            "SELECT l.borrower_id FROM loan l JOIN borrower b ON b.borrower_id = l.borrower_id"
            " JOIN collection_case c ON c.loan_id = l.id"
            " WHERE b.anonymised_at IS NULL"
            " GROUP BY l.borrower_id"
            " HAVING SUM(CASE WHEN c.status = 'open' THEN 1 ELSE 0 END) = 0 AND MAX(c.closed_on) < :d"
        ).bindparams(DAY),
        {"d": cutoff},
    ).all()
    candidates = sorted(r[0] for r in rows)
    running = set()
    for i in range(0, len(candidates), CHUNK):
        part = candidates[i : i + CHUNK]
        q = text(
            "SELECT DISTINCT l.borrower_id FROM loan l JOIN installment i ON i.loan_id = l.id"
            " WHERE l.borrower_id IN :ids AND i.due_date >= :d"
        ).bindparams(DAY)
        q = q.bindparams(bindparam("ids", expanding=True))
        running |= {r[0] for r in conn.execute(q, {"ids": part, "d": cutoff})}
    return cutoff, [b for b in candidates if b not in running]


def anonymise(conn: Connection, borrower_ids: Sequence[str], letters_dir: Path, now: datetime) -> int:
    """Anonymise these borrowers; returns the number of letter PDFs deleted."""
    deleted = 0
    for i in range(0, len(borrower_ids), CHUNK):
        ids = {"ids": list(borrower_ids[i : i + CHUNK])}

        def run(sql: str, ids: dict[str, list[str]] = ids, **params: object) -> list[object]:
            q = text(sql).bindparams(bindparam("ids", expanding=True))
            result = conn.execute(q, {**ids, **params})
            return list(result) if result.returns_rows else []

        loans = "SELECT id FROM loan WHERE borrower_id IN :ids"
        for (path,) in run(f"SELECT path FROM letter WHERE loan_id IN ({loans}) AND path IS NOT NULL AND path <> ''"):
            file = letters_dir / str(path)
            if file.is_file():
                file.unlink()
                deleted += 1
        run(f"UPDATE letter SET path = NULL WHERE loan_id IN ({loans})")
        run(
            "UPDATE borrower SET name = :anon, id_number = '', id_number_enc = NULL, id_number_hash = NULL,"
            " phone = NULL, email = NULL, address = NULL, anonymised_at = :now WHERE borrower_id IN :ids",
            anon=ANONYMISED,
            now=now,
        )
        run("DELETE FROM contact WHERE borrower_id IN :ids")
        run(
            "UPDATE outbox_message SET recipient = '', subject = NULL, body_text = '', body_html = NULL,"
            " merge_fields = NULL WHERE borrower_id IN :ids"
        )
        run("UPDATE call_task SET note = '' WHERE borrower_id IN :ids")
        run(f"UPDATE promise SET note = '' WHERE loan_id IN ({loans})")
        run(f"UPDATE dispute SET reason = '', resolution_note = '' WHERE loan_id IN ({loans})")
        run(f"UPDATE hardship SET reason = '' WHERE loan_id IN ({loans})")
        run(f"UPDATE case_event SET detail = '' WHERE loan_id IN ({loans})")
        run("UPDATE borrower_flag SET note = '' WHERE borrower_id IN :ids")
    return deleted


def apply_retention(conn: Connection, as_of: date, days: int, letters_dir: Path, now: datetime) -> RetentionReport:
    cutoff, ids = due_for_retention(conn, as_of, days)
    report = RetentionReport(cutoff, ids)
    report.letters_deleted = anonymise(conn, ids, letters_dir, now)
    return report
