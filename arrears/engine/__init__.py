"""The delinquency engine: pure functions over plain data (no Prefect, no I/O)."""

from arrears.engine.hardship import RepaymentPlan, assess_with_hardship
from arrears.engine.ledger import Installment, LoanTerms, Overdue, Payment, Standing, Waiver, assess
from arrears.engine.position import LoanBook, PositionRow, PositionRules, position_for
from arrears.engine.risk import RiskRules, grade_risk
from arrears.engine.stages import StageRules, classify_stage, days_in_stage

__all__ = [
    "Installment",
    "LoanTerms",
    "Overdue",
    "Payment",
    "Standing",
    "assess",
    "assess_with_hardship",
    "RepaymentPlan",
    "Waiver",
    "StageRules",
    "classify_stage",
    "days_in_stage",
    "RiskRules",
    "grade_risk",
    "LoanBook",
    "PositionRow",
    "PositionRules",
    "position_for",
]
