"""Reminders: the day's planned SMS/email rendered into the outbox (keys already there are
skipped), and one loan's message as ``arrears preview`` shows it (rendered the same way, sent
nowhere)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal

from sqlalchemy import Engine

from arrears.engine import position_for
from arrears.faults import crash_point
from arrears.messaging.compose import ActionToQueue, compose, facts_for, letters_carried
from arrears.messaging.render import Rendered, render
from arrears.policy import Policy
from arrears.privacy import mask_email, mask_name, mask_phone
from arrears.runtime import Runtime
from arrears.store import outbox
from arrears.store.experiments import stamp_arms
from arrears.store.loans import loan_and_book
from arrears.templating.lender import Lender, lender_from


@dataclass
class Queued:
    new: int = 0
    suppressed: int = 0
    over_segment_limit: int = 0


def queue_day(rt: Runtime, as_of: date) -> Queued:
    """Render the day's planned SMS/email into the outbox (letters are rendered before: an email
    that carries one mentions it by reference)."""
    with rt.engine.begin() as conn:
        actions = outbox.actions_to_queue(conn, as_of)
        opted = outbox.suppressed(conn, "sms", (a.contact_phone or a.phone or "" for a in actions))
        opted.update(outbox.suppressed(conn, "email", ((a.email or "").lower() for a in actions)))
        rendered = outbox.rendered_letters(conn, as_of)
        carried = letters_carried(actions, rt.policy, rendered)
        letters = {email: (key, rendered[key]) for email, key in carried.items()}
        composed = compose(actions, opted, rt.policy, lender_from(rt.settings), rt.clock.wall(), letters)
        new = outbox.insert_messages(conn, composed.rows)
        stamp_arms(conn, "outbox_message", as_of)
        crash_point("queue.inserted")  # the day's messages inserted, not committed
    crash_point("queue.committed")
    return Queued(new, sum(1 for r in composed.rows if r["reason"]), composed.over_segment_limit)


@dataclass(frozen=True)
class Preview:
    channel: str
    recipient: str
    rendered: Rendered
    stage: str
    dpd: int
    policy_sends: bool  # whether the policy sends this template to a loan in this stage and risk


def preview_message(
    *, engine: Engine, policy: Policy, lender: Lender, loan_no: str, as_of: date, template: str, channel: str,
    mask: bool,
) -> Preview:  # fmt: skip
    """The loan's message for ``template`` on ``as_of``, as the outbox would hold it."""
    with engine.connect() as conn:
        row, book = loan_and_book(conn, loan_no, as_of)
    pos = position_for(book, as_of, policy)
    due = [i.principal_due + i.interest_due + i.fee_due for i in book.installments if i.due_date == pos.next_due_date]
    action = ActionToQueue(
        key="preview", as_of=as_of, channel=channel, template=template, borrower_id=row.borrower_id,
        loan_id=row.loan_id, loan_nos=(loan_no,), name=row.name, locale=row.locale, phone=row.phone,
        email=row.email, sms_consent=bool(row.sms_consent), email_consent=bool(row.email_consent), loan_no=loan_no,
        currency=row.currency, dpd=pos.dpd,
        overdue=(pos.overdue_principal, pos.overdue_interest, pos.overdue_penalty, pos.overdue_fees, pos.overdue_total),
        next_due_date=pos.next_due_date, next_amount_due=max(sum(due, Decimal(0)) - pos.credit, Decimal(0)),
    )  # fmt: skip
    facts = facts_for(action, policy)
    recipient = (row.phone if channel == "sms" else row.email) or ""
    if mask:
        facts = replace(facts, borrower_name=mask_name(facts.borrower_name))
        recipient = mask_phone(recipient) if channel == "sms" else mask_email(recipient)
    sends = any(a.template == template and a.channel == channel for a in policy.actions_for(pos.stage, pos.risk))
    return Preview(channel, recipient, render(channel, template, facts, lender), pos.stage, pos.dpd, sends)
