"""The delinquency engine: pure functions over plain data (no Prefect, no I/O)."""

from arrears.engine.ledger import Installment, LoanTerms, Overdue, Payment, Standing, assess
from arrears.engine.stages import StageRules, classify_stage, days_in_stage
from arrears.engine.risk import RiskRules, grade_risk

__all__ = [
    "Installment",
    "LoanTerms",
    "Overdue",
    "Payment",
    "Standing",
    "assess",
    "StageRules",
    "classify_stage",
    "days_in_stage",
    "RiskRules",
    "grade_risk",
]
