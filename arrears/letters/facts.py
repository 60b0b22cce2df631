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

from arrears.policy import Policy

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
class LetterSource:
    """A planned letter action with what the letter must state, as stored on its day."""

    key: str
    action: str
    template: str
    as_of: date
    borrower_id: str
    name: str
    address: str | None
    locale: str
    loan_id: int
    loan_no: str
    product: str
    currency: str
    principal: Decimal
    penalty_rate_daily: Decimal
    contract_date: date
    dpd: int
    overdue: tuple[Decimal, Decimal, Decimal, Decimal, Decimal]  # principal, interest, penalty, fees, total


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


def facts_for(src: LetterSource, policy: Policy) -> LetterFacts:
    """The letter an action calls for, dated its day, with the product's clause and the policy's deadlines."""
    principal, interest, penalty, fees, total = src.overdue
    return LetterFacts(
        key=src.key,
        reference=reference_for(src.key, src.template, src.as_of),
        template=src.template,
        locale=src.locale,
        letter_date=src.as_of,
        deadline=letter_deadline(src.as_of, policy.letters.deadline_days),
        dispute_by=letter_deadline(src.as_of, policy.letters.dispute_days),
        borrower_id=src.borrower_id,
        borrower_name=src.name,
        address=src.address or "",
        loan_id=src.loan_id,
        loan_no=src.loan_no,
        contract_date=src.contract_date,
        product=src.product,
        currency=src.currency,
        principal_amount=src.principal,
        penalty_rate_daily=src.penalty_rate_daily,
        dpd=src.dpd,
        overdue_principal=principal,
        overdue_interest=interest,
        overdue_penalty=penalty,
        overdue_fees=fees,
        overdue_total=total,
        clause=policy.product(src.product).clause_for(src.locale),
    )


class NoLetterForStage(LookupError):
    """The policy sends no letter to a loan in this stage and risk (and none was named)."""


def letter_action(policy: Policy, stage: str, risk: str, template: str | None) -> tuple[str, str]:
    """(action, template): the letter the policy sends a loan in this stage and risk, or the
    named template (under the action that names it anywhere in the policy)."""
    if template is None:
        for spec in policy.actions_for(stage, risk):
            if spec.channel == "letter":
                return spec.action, spec.template
        raise NoLetterForStage(f"the policy sends no letter to a {stage} loan of {risk} risk; pass --template")
    for spec in policy.all_actions():
        if spec.channel == "letter" and spec.template == template:
            return spec.action, template
    return template, template
