"""From a loan's book to its position on a day: ledger + stage + risk (pure).

The rules come from the policy; this module only needs the three things below from it, so
the engine stays below the policy that configures it."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from functools import lru_cache
from typing import NamedTuple, Protocol

from arrears.engine.hardship import RepaymentPlan, assess_with_hardship
from arrears.engine.ledger import Installment, LoanTerms, Payment, Waiver
from arrears.engine.risk import RiskRules, grade_risk
from arrears.engine.stages import StageRules, classify_stage


class PositionRules(Protocol):
    """What classifying a loan needs from the policy."""

    @property
    def stage_rules(self) -> StageRules: ...

    def risk_rules(self, currency: str) -> RiskRules: ...

    def waterfall(self, product: str) -> tuple[str, ...]: ...


class LoanBook(NamedTuple):
    """Everything the engine needs about one loan."""

    loan_id: int
    loan_no: str
    borrower_id: str
    product: str
    penalty_rate_daily: Decimal
    late_fee: Decimal
    grace_days: int
    secured: bool
    installments: tuple[Installment, ...]
    payments: tuple[Payment, ...]
    plan: RepaymentPlan | None = None  # hardship: replaces the schedule from its effective date
    waivers: tuple[Waiver, ...] = ()
    currency: str = ""  # ISO 4217 (amount thresholds of the policy are per currency)


class PositionRow(NamedTuple):
    loan_id: int
    dpd: int
    stage: str
    risk: str
    overdue_principal: Decimal
    overdue_interest: Decimal
    overdue_penalty: Decimal
    overdue_fees: Decimal
    overdue_total: Decimal
    outstanding_principal: Decimal
    credit: Decimal
    times_late: int
    next_due_date: date | None


@lru_cache(maxsize=1024)
def _terms(rate: Decimal, late_fee: Decimal, grace_days: int, waterfall: tuple[str, ...]) -> LoanTerms:
    return LoanTerms(penalty_rate_daily=rate, late_fee=late_fee, grace_days=grace_days, waterfall=waterfall)


def position_for(loan: LoanBook, as_of: date, policy: PositionRules, broken_promises: int = 0) -> PositionRow:
    terms = _terms(loan.penalty_rate_daily, loan.late_fee, loan.grace_days, policy.waterfall(loan.product))
    s = assess_with_hardship(terms, loan.installments, loan.payments, as_of, loan.plan, loan.waivers)
    stage = classify_stage(s.dpd, s.next_due_date, as_of, policy.stage_rules)
    risk = grade_risk(
        policy.risk_rules(loan.currency),
        dpd=s.dpd,
        overdue_total=s.overdue.total,
        times_late=s.times_late,
        secured=loan.secured,
        broken_promises=broken_promises,
    )
    o = s.overdue
    return PositionRow(
        loan.loan_id,
        s.dpd,
        stage,
        risk,
        o.principal,
        o.interest,
        o.penalty,
        o.fees,
        o.total,
        s.outstanding_principal,
        s.credit,
        s.times_late,
        s.next_due_date,
    )
