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
* What is owed can be paid in whole cents: penalty accrues in fractions of a cent, and is
  rounded half-up to the cent, once, when it becomes payable — when a payment (or a waiver)
  reaches its installment; the sub-cent difference is neither owed nor carried. Everything
  else is whole cents already (schedules, fees, payments), so principal and interest are never
  left with a fraction of a cent: a borrower who pays what we showed is never left in arrears.
* DPD is ``as_of - due_date`` of the oldest installment with
  ``due_date < as_of`` that still has unpaid principal or interest, else 0. Fees or penalty
  alone never make a loan delinquent (they are collected with the next payment, by the
  waterfall); an installment is *settled* (for past lateness) when its principal and interest are.
* The overdue breakdown covers installments with ``due_date < as_of``; each
  figure is rounded once (see arrears.money) — the penalty per installment, as a payment would
  take it, so the total shown is never less than what paying it must cover.

Within a day the order is: that day's payments, then that day's penalty, then
the late-fee check, then a waiver taking effect that day (see arrears.engine.hardship).
Between payment days the unpaid principal is constant, so penalty is accrued per
interval, not per day: the cost is O(installments x payment days), independent of how
long a loan has been overdue.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import NamedTuple

from arrears.money import ZERO, round_money

COMPONENTS = ("fees", "penalty", "interest", "principal")
DEFAULT_WATERFALL = COMPONENTS


class Installment(NamedTuple):
    # due_date first: installments sort oldest first by plain tuple order (no key function)
    due_date: date
    seq: int
    principal_due: Decimal
    interest_due: Decimal
    fee_due: Decimal = ZERO


class Payment(NamedTuple):
    paid_on: date
    amount: Decimal


class Waiver(NamedTuple):
    """An approved waiver: at the end of ``effective_on`` the accrued penalty, interest and
    fees of installments due by then are forgiven, oldest first, up to each limit."""

    effective_on: date
    penalty: Decimal
    interest: Decimal
    fees: Decimal


@dataclass(frozen=True, slots=True)
class LoanTerms:
    penalty_rate_daily: Decimal
    late_fee: Decimal
    grace_days: int
    waterfall: tuple[str, ...] = DEFAULT_WATERFALL


class Overdue(NamedTuple):
    """Rounded overdue breakdown; ``total`` is the sum of the rounded parts."""

    principal: Decimal
    interest: Decimal
    penalty: Decimal
    fees: Decimal

    @property
    def total(self) -> Decimal:
        return self.principal + self.interest + self.penalty + self.fees


class Standing(NamedTuple):
    """The engine's answer for one loan on one day."""

    dpd: int
    overdue: Overdue
    outstanding_principal: Decimal  # all installments, due or not, rounded
    credit: Decimal  # payments left over after the last installment, rounded
    times_late: int  # installments settled after their due date (history)
    next_due_date: date | None  # earliest due_date >= as_of still unpaid


# Balance slots of an installment while the waterfall runs.
_SLOT = {"fees": 0, "penalty": 1, "interest": 2, "principal": 3}
_FEES, _PENALTY, _INTEREST, _PRINCIPAL = 0, 1, 2, 3


def _order(waterfall: tuple[str, ...]) -> tuple[int, ...]:
    if sorted(waterfall) != sorted(COMPONENTS):
        raise ValueError(f"waterfall must order exactly {COMPONENTS}, got {waterfall}")
    return tuple(_SLOT[c] for c in waterfall)


_DEFAULT_ORDER = _order(DEFAULT_WATERFALL)


class _Book:
    """Mutable balances of one loan's installments, oldest first (the hot loop: plain lists)."""

    __slots__ = ("bal", "due", "fee_day", "charged", "settled", "first_open")

    def __init__(self, installments: Sequence[Installment], grace_days: int):
        ordered = sorted(installments)  # (due_date, seq, ...): oldest first
        self.bal = [[i.fee_due, ZERO, i.interest_due, i.principal_due] for i in ordered]
        self.due = [i.due_date.toordinal() for i in ordered]
        self.fee_day = [d + grace_days + 1 for d in self.due]  # the day DPD first exceeds grace_days
        self.charged = [False] * len(ordered)
        self.settled: list[int | None] = [None] * len(ordered)
        self.first_open = 0  # installments before it are fully paid and can accrue nothing more

    def accrue(self, terms: LoanTerms, after: int, through: int) -> None:
        """Penalty and late fees for the days after ``after`` through ``through``."""
        rate = terms.penalty_rate_daily
        for k in range(self.first_open, len(self.due)):
            due = self.due[k]
            if due >= through:
                break  # oldest first: no later installment is past due yet
            b = self.bal[k]
            if b[_PRINCIPAL] > 0:
                b[_PENALTY] += rate * b[_PRINCIPAL] * (through - (due if due > after else after))
            if not self.charged[k] and after < self.fee_day[k] <= through and (b[_PRINCIPAL] or b[_INTEREST]):
                b[_FEES] += terms.late_fee
                self.charged[k] = True

    def waive(self, waiver: Waiver, day: int) -> None:
        """Forgive up to the waiver's limits on installments due by ``day``, oldest first (the
        penalty of each becomes payable, so whole cents, first)."""
        for k in range(self.first_open, len(self.due)):
            if self.due[k] <= day and self.bal[k][_PENALTY]:
                self.bal[k][_PENALTY] = round_money(self.bal[k][_PENALTY])
        for slot, limit in ((_PENALTY, waiver.penalty), (_INTEREST, waiver.interest), (_FEES, waiver.fees)):
            for k in range(self.first_open, len(self.due)):
                if limit <= 0 or self.due[k] > day:
                    break
                b = self.bal[k]
                cut = min(b[slot], limit)
                b[slot] -= cut
                limit -= cut
        for k in range(self.first_open, len(self.due)):
            b = self.bal[k]
            if self.settled[k] is None and self.due[k] <= day and not b[_PRINCIPAL] and not b[_INTEREST]:
                self.settled[k] = day

    def pay(self, order: tuple[int, ...], amount: Decimal, day: int) -> Decimal:
        """Pay into the oldest open installments; return what is left over."""
        k, n = self.first_open, len(self.due)
        while amount > 0 and k < n:
            b = self.bal[k]
            if b[_PENALTY]:  # payable now: whole cents (see the module)
                b[_PENALTY] = round_money(b[_PENALTY])
            for slot in order:
                owed = b[slot]
                if owed:
                    if owed <= amount:
                        b[slot] = ZERO
                        amount -= owed
                    else:
                        b[slot] = owed - amount
                        amount = ZERO
                        break
            if self.settled[k] is None and not b[_PRINCIPAL] and not b[_INTEREST]:
                self.settled[k] = day
            if b[0] or b[1] or b[2] or b[3]:
                break
            k += 1
        self.first_open = k
        return amount


def assess(
    terms: LoanTerms,
    installments: Sequence[Installment],
    payments: Sequence[Payment],
    as_of: date,
    waivers: Sequence[Waiver] = (),
) -> Standing:
    """Run the waterfall for one loan through ``as_of`` and report its standing."""
    order = _DEFAULT_ORDER if terms.waterfall == DEFAULT_WATERFALL else _order(terms.waterfall)
    book = _Book(installments, terms.grace_days)
    cutoff = as_of.toordinal()
    # Days up to and including `through` have had penalty and fees applied.
    through = book.due[0] if book.due else cutoff
    credit = ZERO
    pending = sorted((w.effective_on.toordinal(), w) for w in waivers if w.effective_on <= as_of)
    for pay in sorted(payments):  # (paid_on, amount): date order
        day = pay.paid_on.toordinal()
        if day > cutoff:
            break
        while pending and pending[0][0] < day:
            through = _waive(book, terms, pending.pop(0), through)
        if day - 1 > through:
            book.accrue(terms, through, day - 1)
            through = day - 1
        credit = book.pay(order, pay.amount + credit, day)
    while pending:
        through = _waive(book, terms, pending.pop(0), through)
    if cutoff > through:
        book.accrue(terms, through, cutoff)
    return _standing(book, credit, cutoff)


def _waive(book: _Book, terms: LoanTerms, item: tuple[int, Waiver], through: int) -> int:
    """Accrue through the waiver's day, then apply it; returns the new ``through``."""
    day, waiver = item
    if day > through:
        book.accrue(terms, through, day)
        through = day
    book.waive(waiver, day)
    return through


def _standing(book: _Book, credit: Decimal, cutoff: int) -> Standing:
    dpd = 0
    principal = interest = penalty = fees = outstanding = ZERO
    times_late = 0
    next_due: int | None = None
    for k, due in enumerate(book.due):
        f, pen, i, p = book.bal[k]
        outstanding += p
        settled = book.settled[k]
        if settled is not None and settled > due:
            times_late += 1
        if due < cutoff:
            if (p or i) and dpd == 0:
                dpd = cutoff - due
            principal += p
            interest += i
            if pen:  # each installment's penalty in whole cents, as a payment would take it
                penalty += round_money(pen)
            fees += f
        elif next_due is None and (p or i):
            next_due = due
    overdue = Overdue(round_money(principal), round_money(interest), round_money(penalty), round_money(fees))
    return Standing(
        dpd=dpd,
        overdue=overdue,
        outstanding_principal=round_money(outstanding),
        credit=round_money(credit),
        times_late=times_late,
        next_due_date=date.fromordinal(next_due) if next_due is not None else None,
    )
