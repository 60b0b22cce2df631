from __future__ import annotations

import pytest

from arrears.engine import classify_stage, days_in_stage
from arrears.engine.stages import DEFAULT_STAGE_RULES as RULES
from tests.factories import day

AS_OF = day("2026-06-15")


@pytest.mark.parametrize(
    ("dpd", "stage"),
    [(0, "current"), (1, "M1"), (30, "M1"), (31, "M2"), (60, "M2"), (61, "M3"), (90, "M3"), (91, "M3+"), (400, "M3+")],
)
def test_stage_boundaries(dpd, stage):
    assert classify_stage(dpd, None, AS_OF, RULES) == stage


@pytest.mark.parametrize(
    ("due", "stage"),
    [
        ("2026-06-15", "pre_due"),  # due today
        ("2026-06-18", "pre_due"),  # within 3 days
        ("2026-06-19", "current"),  # 4 days out
    ],
)
def test_pre_due_window(due, stage):
    assert classify_stage(0, day(due), AS_OF, RULES) == stage


def test_overdue_loan_is_never_pre_due_even_with_an_installment_due_soon():
    assert classify_stage(5, day("2026-06-16"), AS_OF, RULES) == "M1"


def test_days_in_stage_counts_from_entry():
    assert days_in_stage("M1", 1, None, AS_OF, RULES) == 0
    assert days_in_stage("M2", 45, None, AS_OF, RULES) == 14
    assert days_in_stage("pre_due", 0, day("2026-06-18"), AS_OF, RULES) == 0
    assert days_in_stage("pre_due", 0, day("2026-06-15"), AS_OF, RULES) == 3
    assert days_in_stage("current", 0, None, AS_OF, RULES) is None
