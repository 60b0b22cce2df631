from __future__ import annotations

from arrears.engine import grade_risk
from arrears.engine.risk import DEFAULT_RISK_RULES as RULES
from tests.factories import D


def grade(dpd=0, total="0", late=0, secured=False, broken=0):
    return grade_risk(RULES, dpd=dpd, overdue_total=D(total), times_late=late, secured=secured, broken_promises=broken)


def test_current_loan_with_clean_history_is_low():
    assert grade() == "low"


def test_early_small_arrears_is_low_and_habitual_lateness_raises_it():
    assert grade(dpd=5, total="800") == "low"
    assert grade(dpd=5, total="800", late=2) == "medium"


def test_long_overdue_large_amount_is_high():
    assert grade(dpd=95, total="25000") == "high"


def test_collateral_or_guarantor_lowers_the_grade():
    assert grade(dpd=35, total="800") == "medium"
    assert grade(dpd=35, total="800", secured=True) == "low"


def test_broken_promises_raise_the_grade():
    assert grade(dpd=35, broken=2) == "high"
