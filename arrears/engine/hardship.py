"""Hardship arrangements in the engine: a repayment plan replaces the remaining schedule
from its effective date; a waiver forgives accrued penalty, interest and fees (pure).

The rules (README, "Hardship"):

* **Repayment plan.** Before ``effective_on`` the loan runs on its contract schedule. From
  ``effective_on`` on, the plan's installments *are* the schedule: they restate everything
  the borrower still owes (the approver sized them), so the old installments no longer
  accrue and no longer count for DPD. Payments made from ``effective_on`` on pay the plan's
  installments; a credit left over on the day before carries into the plan as a payment
  on ``effective_on``. ``times_late`` keeps the history of the contract schedule.
* **Waiver.** At the end of ``effective_on`` (after that day's payments and accrual), the
  penalty, then interest, then fees of installments due by then are forgiven oldest first,
  each up to its approved limit. Penalty keeps accruing afterwards on principal still unpaid.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta
from typing import NamedTuple

from arrears.engine.ledger import Installment, LoanTerms, Payment, Standing, Waiver, assess


class RepaymentPlan(NamedTuple):
    effective_on: date
    installments: tuple[Installment, ...]


def assess_with_hardship(
    terms: LoanTerms,
    installments: Sequence[Installment],
    payments: Sequence[Payment],
    as_of: date,
    plan: RepaymentPlan | None = None,
    waivers: Sequence[Waiver] = (),
) -> Standing:
    """The loan's standing on ``as_of`` under its plan (if in effect) and waivers."""
    if plan is None or plan.effective_on > as_of:
        return assess(terms, installments, payments, as_of, waivers)
    start = plan.effective_on
    before = assess(terms, installments, [p for p in payments if p.paid_on < start], start - timedelta(days=1), waivers)
    carried = [Payment(start, before.credit)] if before.credit > 0 else []
    after = [p for p in payments if p.paid_on >= start]
    later_waivers = [w for w in waivers if w.effective_on >= start]
    s = assess(terms, plan.installments, carried + after, as_of, later_waivers)
    return s._replace(times_late=s.times_late + before.times_late)
