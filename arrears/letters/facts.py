"""What a demand letter states, gathered before rendering (pure: no I/O, no clock).

Every figure is the engine's for the letter date, already rounded; the letter only
formats it. A letter that lacks something it must state (an address to post it to, a
contract clause to rest on) is refused here with the field named, before any layout.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from arrears.messaging.content import Lender

LOCALES = ("zh_CN", "en_US")


class LetterDataError(ValueError):
    """A letter cannot be produced from its data; names the letter and the field."""

    def __init__(self, reference: str, template: str, field: str, reason: str) -> None:
        super().__init__(f"letter {reference} ({template}): {field}: {reason}")
        self.reference = reference
        self.template = template
        self.field = field
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Letterhead(Lender):
    """The lender as a letter presents it (from settings): the reminders' sender details,
    plus the postal address and the bank account for transfers."""

    address_zh: str
    address_en: str
    bank_name_zh: str
    bank_name_en: str
    bank_account: str


@dataclass(frozen=True, slots=True)
class LetterFacts:
    """Everything one letter says. ``key`` is the planned action's idempotency key."""

    key: str
    reference: str
    template: str
    locale: str
    letter_date: date
    deadline: date
    dispute_by: date
    borrower_id: str
    borrower_name: str
    address: str
    loan_id: int
    loan_no: str
    contract_date: date
    product: str
    currency: str
    principal_amount: Decimal  # the loan's original principal
    penalty_rate_daily: Decimal
    dpd: int
    overdue_principal: Decimal
    overdue_interest: Decimal
    overdue_penalty: Decimal
    overdue_fees: Decimal
    overdue_total: Decimal
    clause: str

    @property
    def amounts(self) -> tuple[Decimal, Decimal, Decimal, Decimal, Decimal]:
        return (
            self.overdue_principal,
            self.overdue_interest,
            self.overdue_penalty,
            self.overdue_fees,
            self.overdue_total,
        )


PREFIXES = {"m2_demand_letter": "DL", "m3_final_demand": "FD", "pre_litigation_notice": "PL"}


def reference_for(key: str, template: str, letter_date: date) -> str:
    """The number printed on the letter: kind, date and a digest of the action key, so the
    same letter always gets the same number and two letters never share one."""
    digest = hashlib.sha256(key.encode()).hexdigest()[:10].upper()
    return f"{PREFIXES.get(template, 'LT')}-{letter_date:%Y%m%d}-{digest}"


def letter_deadline(letter_date: date, deadline_days: int) -> date:
    """Pay by: the letter date + the policy's ``letters.deadline_days``."""
    return letter_date + timedelta(days=deadline_days)


REQUIRED_TEXT = ("borrower_name", "address", "loan_no", "clause", "currency")


def check_facts(f: LetterFacts) -> None:
    """Refuse a letter that would be wrong or unsendable, naming the field."""
    for name in REQUIRED_TEXT:
        if not str(getattr(f, name) or "").strip():
            raise LetterDataError(f.reference, f.template, name, "missing (a demand letter must state it)")
    if f.locale not in LOCALES:
        raise LetterDataError(f.reference, f.template, "locale", f"{f.locale!r} has no letter templates")
    if f.dpd <= 0 or f.overdue_total <= 0:
        raise LetterDataError(f.reference, f.template, "overdue_total", "nothing is overdue: no demand to make")
    parts = f.overdue_principal + f.overdue_interest + f.overdue_penalty + f.overdue_fees
    if parts != f.overdue_total:
        raise LetterDataError(
            f.reference, f.template, "overdue_total", f"{f.overdue_total} is not the sum of its parts ({parts})"
        )
    if any(a < 0 for a in f.amounts):
        raise LetterDataError(f.reference, f.template, "amounts", "negative amount")
    if f.deadline <= f.letter_date:
        raise LetterDataError(f.reference, f.template, "deadline", "must fall after the letter date")
