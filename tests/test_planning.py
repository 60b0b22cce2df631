"""Planning: positions -> actions with deterministic keys, frequency from days in stage."""

from __future__ import annotations

from decimal import Decimal

from arrears.planning import PositionView, plan_actions
from arrears.policy import load_policy
from tests.factories import day

POLICY = load_policy()
AS_OF = day("2026-06-15")


def pos(loan_no="LN1", borrower="B1", stage="M1", risk="low", dpd=2, due=None, total="100", loan_id=1):  # type: ignore[no-untyped-def]
    return PositionView(loan_id, loan_no, borrower, stage, risk, dpd, due, Decimal(total))


def test_m1_gentle_reminders_on_day_one_of_the_stage_then_weekly():
    keys = [a.key for a in plan_actions([pos(dpd=2)], POLICY, AS_OF)]
    assert keys == ["loan:LN1:m1_gentle_email:email:2026-06-15", "loan:LN1:m1_gentle_sms:sms:2026-06-15"]
    assert plan_actions([pos(dpd=3)], POLICY, AS_OF) == []
    assert {a.action for a in plan_actions([pos(dpd=9)], POLICY, AS_OF)} == {"m1_gentle_sms", "m1_gentle_email"}


def test_call_task_follows_if_no_response():
    assert {a.channel for a in plan_actions([pos(dpd=6)], POLICY, AS_OF)} == {"call_task"}


def test_demand_letter_once_on_entering_m2():
    assert "m2_demand_letter" in {a.action for a in plan_actions([pos(stage="M2", dpd=31)], POLICY, AS_OF)}
    assert "m2_demand_letter" not in {a.action for a in plan_actions([pos(stage="M2", dpd=36)], POLICY, AS_OF)}


def test_current_loans_plan_nothing():
    assert plan_actions([pos(stage="current", dpd=0)], POLICY, AS_OF) == []


def test_planning_is_deterministic_whatever_the_input_order():
    positions = [
        pos("LN1", dpd=2, loan_id=1),
        pos("LN2", "B2", dpd=9, loan_id=2),
        pos("LN3", "B3", stage="M2", dpd=31, loan_id=3),
    ]
    assert plan_actions(positions, POLICY, AS_OF) == plan_actions(list(reversed(positions)), POLICY, AS_OF)


def test_borrower_scoped_reminder_is_one_per_person_attached_to_the_worst_loan():
    due = day("2026-06-15")  # pre-due day 3: the every-3-days reminder fires
    two_loans = [
        pos("LN1", stage="pre_due", dpd=0, due=due, total="0", loan_id=1),
        pos("LN2", stage="pre_due", dpd=0, due=due, total="0", loan_id=2),
    ]
    sms = [a for a in plan_actions(two_loans, POLICY, AS_OF) if a.channel == "sms"]
    assert len(sms) == 1
    assert sms[0].key == "borrower:B1:pre_due_reminder:sms:2026-06-15"
    assert sms[0].loan_nos == ("LN1", "LN2")
