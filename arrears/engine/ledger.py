"""Where a loan stands on a day: payment waterfall, penalty interest, late fees, DPD.

The rules (README, "The delinquency engine"):

* Payments made up to and including ``as_of`` are applied in date order to the
  oldest installment first; within an installment in the product's waterfall
  order (default fees -> penalty -> interest -> principal). What is left after
  the last installment is an unapplied credit.
* Penalty interest accrues for each day *after* an installment's due date,
  through ``as_of``, at ``penalty_rate_daily`` on that installment's principal
  still unpaid at the end of that day (so a payment on day d already lowers
  day d's penalty, and a payment on the due date accrues none).
* The late fee is charged once per installment, at the end of the day on which
  its DPD first exceeds ``grace_days`` (due_date + grace_days + 1) if principal
  or interest is still unpaid then.
* DPD is ``as_of - due_date`` of the oldest installment with
  ``due_date < as_of`` that still has unpaid principal or interest, else 0.
* The overdue breakdown covers installments with ``due_date < as_of``; each
  figure is rounded once (see arrears.money).

Within a day the order is: that day's payments, then that day's penalty, then
the late-fee check. Between payment days the unpaid principal is constant, so
penalty is accrued per interval, not per day: the cost is O(installments x
payment days), independent of how long a loan has been overdue.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from arrears.money import ZERO, round_money

COMPONENTS = ("fees", "penalty", "interest", "principal")
DEFAULT_WATERFALL = COMPONENTS


@dataclass(frozen=True, slots=True)
class Installment:
    seq: int
    due_date: date
    principal_due: Decimal
    interest_due: Decimal
    fee_due: Decimal = ZERO


@dataclass(frozen=True, slots=True)
class Payment:
    paid_on: date
    amount: Decimal


@dataclass(frozen=True, slots=True)
class LoanTerms:
    penalty_rate_daily: Decimal
    late_fee: Decimal
    grace_days: int
    waterfall: tuple[str, ...] = DEFAULT_WATERFALL


@dataclass(frozen=True, slots=True)
class Overdue:
    """Rounded overdue breakdown; ``total`` is the sum of the rounded parts."""

    principal: Decimal
    interest: Decimal
    penalty: Decimal
    fees: Decimal

    @property
    def total(self) -> Decimal:
        return self.principal + self.interest + self.penalty + self.fees


@dataclass(frozen=True, slots=True)
class Standing:
    """The engine's answer for one loan on one day."""

    dpd: int
    overdue: Overdue
    outstanding_principal: Decimal  # all installments, due or not, rounded
    credit: Decimal  # payments left over after the last installment, rounded
    times_late: int  # installments settled after their due date (history)
    next_due_date: date | None  # earliest due_date >= as_of still unpaid


class _Open:
    """Mutable per-installment balances while the waterfall runs."""

    __slots__ = ("due", "fee_trigger", "fees", "penalty", "interest", "principal", "fee_charged", "settled_on")

    def __init__(self, inst: Installment, grace_days: int):
        self.due = inst.due_date
        self.fee_trigger = inst.due_date.toordinal() + grace_days + 1
        self.fees = inst.fee_due
        self.penalty = ZERO
        self.interest = inst.interest_due
        self.principal = inst.principal_due
        self.fee_charged = False
        self.settled_on: date | None = None


def assess(
    terms: LoanTerms,
    installments: list[Installment] | tuple[Installment, ...],
    payments: list[Payment] | tuple[Payment, ...],
    as_of: date,
) -> Standing:
    """Run the waterfall for one loan through ``as_of`` and report its standing."""
    waterfall = terms.waterfall
    if sorted(waterfall) != sorted(COMPONENTS):
        raise ValueError(f"waterfall must order exactly {COMPONENTS}, got {waterfall}")
    book = [_Open(i, terms.grace_days) for i in sorted(installments, key=lambda i: (i.due_date, i.seq))]
    cutoff = as_of.toordinal()
    # Days up to and including `through` have had penalty and fees applied.
    through = book[0].due.toordinal() if book else cutoff
    credit = ZERO
    first_open = 0
    for pay in sorted(payments, key=lambda p: p.paid_on):
        day = pay.paid_on.toordinal()
        if day > cutoff:
            break
        if day - 1 > through:
            _accrue(book, terms, through, day - 1)
            through = day - 1
        credit, first_open = _apply(book, waterfall, first_open, pay.amount + credit, pay.paid_on)
    if cutoff > through:
        _accrue(book, terms, through, cutoff)
    return _standing(book, credit, as_of)


def _accrue(book: list[_Open], terms: LoanTerms, after: int, through: int) -> None:
    """Accrue penalty and charge late fees for the days after ``after`` through ``through``."""
    rate = terms.penalty_rate_daily
    for inst in book:
        due = inst.due.toordinal()
        if due >= through:
            break  # sorted by due date: no later installment is past due yet
        if inst.principal > 0:
            days = through - max(due, after)
            if days > 0:
                inst.penalty += rate * inst.principal * days
        if not inst.fee_charged and after < inst.fee_trigger <= through and (inst.principal + inst.interest) > 0:
            inst.fees += terms.late_fee
            inst.fee_charged = True


def _apply(
    book: list[_Open], waterfall: tuple[str, ...], first_open: int, amount: Decimal, paid_on: date
) -> tuple[Decimal, int]:
    """Pay ``amount`` into the oldest open installments; return (left over, first open index)."""
    i = first_open
    while amount > 0 and i < len(book):
        inst = book[i]
        for part in waterfall:
            owed = getattr(inst, part)
            if owed > 0:
                take = owed if owed <= amount else amount
                setattr(inst, part, owed - take)
                amount -= take
                if amount == 0:
                    break
        if inst.settled_on is None and inst.principal == 0 and inst.interest == 0:
            inst.settled_on = paid_on
        if inst.fees == 0 and inst.penalty == 0 and inst.interest == 0 and inst.principal == 0:
            i += 1
        else:
            break
    return amount, i


def _standing(book: list[_Open], credit: Decimal, as_of: date) -> Standing:
    dpd = 0
    principal = interest = penalty = fees = outstanding = ZERO
    times_late = 0
    next_due: date | None = None
    for inst in book:
        unpaid = inst.principal + inst.interest
        outstanding += inst.principal
        if inst.settled_on is not None and inst.settled_on > inst.due:
            times_late += 1
        if inst.due < as_of:
            if unpaid > 0 and dpd == 0:
                dpd = (as_of - inst.due).days
            principal += inst.principal
            interest += inst.interest
            penalty += inst.penalty
            fees += inst.fees
        elif next_due is None and unpaid > 0:
            next_due = inst.due
    overdue = Overdue(round_money(principal), round_money(interest), round_money(penalty), round_money(fees))
    return Standing(
        dpd=dpd,
        overdue=overdue,
        outstanding_principal=round_money(outstanding),
        credit=round_money(credit),
        times_late=times_late,
        next_due_date=next_due,
    )
