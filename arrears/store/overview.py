"""Book-wide counts over every day (the demo's closing sections): messages, letters, cases,
call queues, legal cases and the guard's latest decisions."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import Connection, func, select, text

from arrears.store import DAY
from models import Borrower, Letter, Loan, OutboxMessage


def message_counts(conn: Connection) -> list[Any]:
    """(channel, status, messages)."""
    q = select(OutboxMessage.channel, OutboxMessage.status, func.count()).group_by(
        OutboxMessage.channel, OutboxMessage.status
    )
    return list(conn.execute(q))


def delivered_sms_sample(conn: Connection, locale: str) -> Any:
    """The first delivered SMS in a locale: recipient, body and the borrower's name (to mask it)."""
    q = (
        select(OutboxMessage.recipient, OutboxMessage.body_text, Borrower.name)
        .join(Borrower, Borrower.borrower_id == OutboxMessage.borrower_id)
        .where(OutboxMessage.channel == "sms", OutboxMessage.locale == locale, OutboxMessage.status == "delivered")
        .order_by(OutboxMessage.id)
        .limit(1)
    )
    return conn.execute(q).first()


def letter_counts(conn: Connection) -> list[Any]:
    """(template, locale, status, letters, pages)."""
    q = select(Letter.template, Letter.locale, Letter.status, func.count(), func.sum(Letter.pages)).group_by(
        Letter.template, Letter.locale, Letter.status
    )
    return list(conn.execute(q))


def rendered_letter_sample(conn: Connection, locale: str) -> Any:
    """The first rendered letter in a locale: path, sha256, date and loan number."""
    q = (
        select(Letter.path, Letter.sha256, Letter.as_of, Loan.loan_no)
        .join(Loan, Loan.id == Letter.loan_id)
        .where(Letter.status == "rendered", Letter.locale == locale)
        .order_by(Letter.key)
    )
    return conn.execute(q).first()


def print_batch_count(conn: Connection) -> int:
    return int(conn.execute(select(func.count(func.distinct(Letter.print_batch)))).scalar() or 0)


def case_counts(conn: Connection) -> dict[str, int]:
    """status -> collection cases."""
    return {s: int(n) for s, n in conn.execute(text("SELECT status, COUNT(*) FROM collection_case GROUP BY status"))}


def calls_per_collector(conn: Connection, as_of: date) -> list[Any]:
    q = text(
        "SELECT collector, COUNT(*) FROM call_task WHERE as_of = :d GROUP BY collector ORDER BY collector"
    ).bindparams(DAY)
    return list(conn.execute(q, {"d": as_of}))


def legal_case_refs(conn: Connection) -> list[Any]:
    """(reference, loan_no) of every legal case."""
    q = "SELECT g.reference, l.loan_no FROM legal_case g JOIN loan l ON l.id = g.loan_id ORDER BY g.reference"
    return list(conn.execute(text(q)))


def latest_decisions(conn: Connection) -> list[Any]:
    """(verdict, rule, contacts) by each contact's latest guard decision."""
    return list(
        conn.execute(
            text(
                "SELECT d.verdict, d.rule, COUNT(*) FROM contact_decision d WHERE d.id IN"
                " (SELECT MAX(id) FROM contact_decision GROUP BY key) GROUP BY d.verdict, d.rule"
                " ORDER BY d.verdict, COUNT(*) DESC"
            )
        )
    )


def held_message_example(conn: Connection) -> Any:
    """(loan_nos, as_of) of the latest SMS/email the guard did not simply allow."""
    return conn.execute(
        text(
            "SELECT a.loan_nos, a.as_of FROM collection_action a WHERE a.rule NOT IN ('allowed')"
            " AND a.channel IN ('sms', 'email') ORDER BY a.as_of DESC, a.key LIMIT 1"
        )
    ).first()
