"""Turn planned SMS/email actions into outbox rows: render, check consent and the
suppression list, and record why a message will not be sent (pure)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from arrears.messaging.content import MessageFacts, payment_deadline
from arrears.messaging.render import merge_fields, render
from arrears.planning.keys import ActionKey
from arrears.policy import Policy
from arrears.templating.lender import Lender
from models.message import QUEUED, SUPPRESSED


@dataclass(frozen=True, slots=True)
class ActionToQueue:
    """A planned SMS/email action with what its message needs to say."""

    key: str
    as_of: date
    channel: str
    template: str
    borrower_id: str
    loan_id: int
    loan_nos: tuple[str, ...]
    name: str
    locale: str
    phone: str | None
    email: str | None
    sms_consent: bool
    email_consent: bool
    loan_no: str
    currency: str
    dpd: int
    overdue: tuple[Decimal, Decimal, Decimal, Decimal, Decimal]  # principal, interest, penalty, fees, total
    next_due_date: date | None
    next_amount_due: Decimal
    promise_amount: Decimal | None = None  # the loan's open promise on the day (promise reminders)
    promise_date: date | None = None
    audience: str = "borrower"  # or third_party: the first consenting contact gets it
    not_before: datetime | None = None  # the guard's moment (deferred: the next allowed one)
    contact_id: int | None = None
    contact_phone: str | None = None


@dataclass
class Composed:
    rows: list[dict[str, Any]] = field(default_factory=list)
    over_segment_limit: int = 0


def facts_for(a: ActionToQueue, policy: Policy) -> MessageFacts:
    principal, interest, penalty, fees, total = a.overdue
    return MessageFacts(
        as_of=a.as_of,
        locale=a.locale,
        borrower_name=a.name,
        contract_no=a.loan_no,
        loan_nos=a.loan_nos,
        currency=a.currency,
        dpd=a.dpd,
        overdue_principal=principal,
        overdue_interest=interest,
        overdue_penalty=penalty,
        overdue_fees=fees,
        overdue_total=total,
        next_due_date=a.next_due_date,
        next_amount_due=a.next_amount_due,
        deadline=payment_deadline(a.as_of, a.next_due_date, a.dpd, policy.messages.deadline_days),
        promise_date=a.promise_date,
        promise_amount=a.promise_amount,
    )


def why_not(a: ActionToQueue, opted_out: Mapping[str, str]) -> str | None:
    """The reason this message must not be sent, or None (the guard decided the rest)."""
    if a.audience == "third_party":
        if not a.contact_phone:
            return "third_party_consent: no consenting third party"
        return f"opted out ({opted_out[a.contact_phone]})" if a.contact_phone in opted_out else None
    if a.channel == "sms":
        if not a.phone:
            return "no phone number"
        if not a.sms_consent:
            return "no SMS consent"
        if a.phone in opted_out:
            return f"opted out ({opted_out[a.phone]})"
    else:
        if not a.email:
            return "no email address"
        if not a.email_consent:
            return "no email consent"
        if a.email.lower() in opted_out:
            return f"opted out ({opted_out[a.email.lower()]})"
    return None


def recipient_of(a: ActionToQueue) -> str:
    if a.audience == "third_party":
        return a.contact_phone or ""
    return (a.phone if a.channel == "sms" else (a.email or "").lower()) or ""


def letters_carried(actions: Iterable[ActionToQueue], policy: Policy, planned: Iterable[str]) -> dict[str, str]:
    """Email key -> key of the letter it carries: the policy's ``attach_to``, when that letter
    was produced for the same loan on the same day (``planned``: the day's rendered letters)."""
    carries = policy.attachments()
    planned_keys = set(planned)
    out = {}
    for a in actions:
        if a.channel != "email":
            continue
        key = ActionKey.parse(a.key)
        letter = carries.get(key.action)
        if letter is None:
            continue
        letter_key = str(key.sibling(letter, "letter"))
        if letter_key in planned_keys:
            out[a.key] = letter_key
    return out


def compose(
    actions: Iterable[ActionToQueue],
    opted_out: Mapping[str, str],
    policy: Policy,
    lender: Lender,
    now: datetime,
    letters: Mapping[str, tuple[str, str]] | None = None,
) -> Composed:
    """``letters``: email key -> (letter key, letter reference) for emails that carry a letter."""
    out = Composed()
    for a in actions:
        facts = facts_for(a, policy)
        facts = replace(facts, pay_link=lender.pay_link(facts.contract_no, facts.pay_amount))
        letter_key, letter_reference = (letters or {}).get(a.key, (None, None))
        if letter_reference:
            facts = replace(facts, letter_reference=letter_reference)
        r = render(a.channel, a.template, facts, lender)
        reason = why_not(a, opted_out)
        if r.size is not None and r.size.segments > policy.messages.sms_max_segments:
            out.over_segment_limit += 1
        out.rows.append(
            {
                "key": a.key,
                "as_of": a.as_of,
                "channel": a.channel,
                "borrower_id": a.borrower_id,
                "loan_id": a.loan_id,
                "template": a.template,
                "locale": a.locale,
                "recipient": recipient_of(a),
                "contact_id": a.contact_id if a.audience == "third_party" else None,
                "not_before": a.not_before,
                "subject": r.subject,
                "body_text": r.text,
                "body_html": r.html,
                "segments": r.size.segments if r.size else None,
                "merge_fields": json.dumps(merge_fields(facts), ensure_ascii=False),  # batched email, registered SMS
                "letter_key": letter_key,
                "status": SUPPRESSED if reason else QUEUED,
                "reason": reason,
                "attempts": 0,
                "queued_at": now,
                "updated_at": now,
            }
        )
    return out
