"""The facts a reminder states, gathered from the day's position (pure: no I/O, no clock)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

LOCALES = ("zh_CN", "en_US")


@dataclass(frozen=True, slots=True)
class MessageFacts:
    """Everything a reminder may say. Amounts are the engine's, already rounded."""

    as_of: date
    locale: str
    borrower_name: str
    contract_no: str  # the loan the message is about (for a borrower-wide reminder: the worst)
    loan_nos: tuple[str, ...]
    currency: str
    dpd: int
    overdue_principal: Decimal
    overdue_interest: Decimal
    overdue_penalty: Decimal
    overdue_fees: Decimal
    overdue_total: Decimal
    next_due_date: date | None
    next_amount_due: Decimal  # what falls due on next_due_date (pre-due reminders)
    deadline: date  # pay-by date the message names
    promise_date: date | None = None  # promise-to-pay reminders
    promise_amount: Decimal | None = None
    paid_amount: Decimal | None = None  # payment-received confirmations
    letter_reference: str | None = None  # the demand letter attached to this email, if any
    pay_link: str = ""  # the signed pay-now link for this loan and amount (arrears.templating.paylink)

    @property
    def pay_amount(self) -> Decimal:
        """What a pay-now link asks for: the promise's amount, else what cures the loan, else what falls due."""
        return self.promise_amount or self.minimum_payment or self.next_amount_due

    @property
    def minimum_payment(self) -> Decimal:
        """The least that cures the loan today: everything overdue (a partial payment leaves it late)."""
        return self.overdue_total


def payment_deadline(as_of: date, next_due_date: date | None, dpd: int, deadline_days: int) -> date:
    """Pre-due: the due date itself; overdue: ``as_of`` + the policy's ``messages.deadline_days``."""
    if dpd == 0 and next_due_date is not None and next_due_date >= as_of:
        return next_due_date
    return as_of + timedelta(days=deadline_days)


def sample_facts(locale: str, as_of: date = date(2026, 11, 23)) -> MessageFacts:
    """Long-but-realistic values for template checks: the worst case a template must fit."""
    return MessageFacts(
        as_of=as_of,
        locale=locale,
        borrower_name="欧阳娜娜" if locale == "zh_CN" else "Alexandra Montgomery-Smith",
        contract_no="LN2026112300123",
        loan_nos=("LN2026112300123",),
        currency="CNY" if locale == "zh_CN" else "USD",
        dpd=118,
        overdue_principal=Decimal("123456.78"),
        overdue_interest=Decimal("12345.67"),
        overdue_penalty=Decimal("2345.67"),
        overdue_fees=Decimal("345.00"),
        overdue_total=Decimal("138493.12"),
        next_due_date=as_of + timedelta(days=3),
        next_amount_due=Decimal("12345.67"),
        deadline=as_of + timedelta(days=7),
        promise_date=as_of + timedelta(days=2),
        promise_amount=Decimal("50000.00"),
        paid_amount=Decimal("138493.12"),
    )
