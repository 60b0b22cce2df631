"""`arrears preview`: one loan's reminder rendered exactly as the outbox would, sent nowhere."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal

from sqlalchemy import Engine, text

from arrears.messaging.compose import facts_for
from arrears.messaging.content import Lender
from arrears.messaging.render import Rendered, render
from arrears.policy import Policy
from arrears.positions import position_for
from arrears.privacy import mask_email, mask_name, mask_phone
from arrears.store.book import read_books
from arrears.store.outbox import ActionToQueue


class LoanNotFound(LookupError):
    pass


@dataclass(frozen=True)
class Preview:
    channel: str
    recipient: str
    rendered: Rendered
    stage: str
    dpd: int
    policy_sends: bool  # whether the policy sends this template to a loan in this stage and risk


def preview_message(
    *,
    engine: Engine,
    policy: Policy,
    lender: Lender,
    loan_no: str,
    as_of: date,
    template: str,
    channel: str,
    mask: bool,
) -> Preview:
    with engine.connect() as conn:
        row = conn.execute(
            text(
                "SELECT l.id, l.currency, b.borrower_id, b.name, b.locale, b.phone, b.email, b.sms_consent,"
                " b.email_consent FROM loan l JOIN borrower b ON b.borrower_id = l.borrower_id WHERE l.loan_no = :n"
            ),
            {"n": loan_no},
        ).first()
        if row is None:
            raise LoanNotFound(f"no loan {loan_no!r}")
        (book,) = read_books(conn, row.id, row.id, as_of)
    pos = position_for(book, as_of, policy)
    due = [i.principal_due + i.interest_due + i.fee_due for i in book.installments if i.due_date == pos.next_due_date]
    next_amount = max(sum(due, Decimal(0)) - pos.credit, Decimal(0))
    action = ActionToQueue(
        key="preview",
        as_of=as_of,
        channel=channel,
        template=template,
        borrower_id=row.borrower_id,
        loan_id=row.id,
        loan_nos=(loan_no,),
        name=row.name,
        locale=row.locale,
        phone=row.phone,
        email=row.email,
        sms_consent=bool(row.sms_consent),
        email_consent=bool(row.email_consent),
        loan_no=loan_no,
        currency=row.currency,
        dpd=pos.dpd,
        overdue=(pos.overdue_principal, pos.overdue_interest, pos.overdue_penalty, pos.overdue_fees, pos.overdue_total),
        next_due_date=pos.next_due_date,
        next_amount_due=next_amount,
    )
    facts = facts_for(action, policy)
    recipient = (row.phone if channel == "sms" else row.email) or ""
    if mask:
        facts = replace(facts, borrower_name=mask_name(facts.borrower_name))
        recipient = mask_phone(recipient) if channel == "sms" else mask_email(recipient)
    sends = any(a.template == template and a.channel == channel for a in policy.actions_for(pos.stage, pos.risk))
    return Preview(channel, recipient, render(channel, template, facts, lender), pos.stage, pos.dpd, sends)
