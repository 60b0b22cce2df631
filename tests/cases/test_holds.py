"""What the borrower said changes the plan: a dispute holds everything, an open promise
pauses the ladder and brings its own reminder (planning is pure: no database here)."""

from __future__ import annotations

from decimal import Decimal

from arrears.planning import PositionView, PromiseView, plan_actions
from arrears.policy import load_policy
from tests.factories import day

POLICY = load_policy()
AS_OF = day("2026-06-15")


def pos(
    loan_id: int = 1, loan_no: str = "LN1", borrower: str = "B1", stage: str = "M1", dpd: int = 2, due=None
) -> PositionView:  # type: ignore[no-untyped-def]
    return PositionView(loan_id, loan_no, borrower, stage, "low", dpd, due, Decimal("100"))


def test_a_disputed_loan_has_every_action_recorded_as_held_with_the_reason() -> None:
    planned = plan_actions([pos(stage="M2", dpd=31)], POLICY, AS_OF, disputed=[1])
    assert {a.action for a in planned} == {"m2_firm_sms", "m2_firm_email", "m2_demand_letter"}
    assert {(a.status, a.reason) for a in planned} == {("suppressed", "dispute_hold")}


def test_a_dispute_on_one_loan_holds_a_reminder_about_the_borrowers_loans_together() -> None:
    positions = [
        pos(1, "LN1", stage="pre_due", dpd=0, due=day("2026-06-18")),
        pos(2, "LN2", stage="pre_due", dpd=0, due=day("2026-06-18")),
    ]
    [sms, email] = sorted(plan_actions(positions, POLICY, AS_OF, disputed=[2]), key=lambda a: a.channel == "sms")
    assert sms.scope == "borrower" and sms.reason == "dispute_hold"
    undisputed = plan_actions(positions, POLICY, AS_OF)
    assert {a.status for a in undisputed} == {"planned"}


def test_an_open_promise_pauses_the_ladder_and_reminds_the_day_before_its_date() -> None:
    promise = PromiseView(1, made_on=day("2026-06-13"), promised_on=day("2026-06-16"))
    planned = {a.action: a for a in plan_actions([pos(dpd=9)], POLICY, AS_OF, promises={1: promise})}
    assert {k: (a.status, a.reason) for k, a in planned.items()} == {
        "m1_gentle_sms": ("suppressed", "promise_open"),
        "m1_gentle_email": ("suppressed", "promise_open"),
        "ptp_reminder_sms": ("planned", None),
        "ptp_reminder_email": ("planned", None),
    }
    assert planned["ptp_reminder_sms"].key == "loan:LN1:ptp_reminder_sms:sms:2026-06-15"
    assert planned["ptp_reminder_sms"].template == "ptp_reminder"


def test_no_reminder_on_other_days_and_the_ladder_resumes_after_the_promised_date() -> None:
    promise = PromiseView(1, made_on=day("2026-06-10"), promised_on=day("2026-06-20"))
    assert {a.reason for a in plan_actions([pos(dpd=9)], POLICY, AS_OF, promises={1: promise})} == {"promise_open"}
    passed = PromiseView(1, made_on=day("2026-06-01"), promised_on=day("2026-06-14"))
    assert {a.status for a in plan_actions([pos(dpd=9)], POLICY, AS_OF, promises={1: passed})} == {"planned"}


def test_a_policy_can_keep_the_ladder_running_during_a_promise() -> None:
    policy = POLICY.model_copy(update={"promises": POLICY.promises.model_copy(update={"hold_ladder": False})})
    promise = PromiseView(1, made_on=day("2026-06-10"), promised_on=day("2026-06-20"))
    assert {a.status for a in plan_actions([pos(dpd=9)], policy, AS_OF, promises={1: promise})} == {"planned"}


def test_a_dispute_also_holds_the_promise_reminder() -> None:
    promise = PromiseView(1, made_on=day("2026-06-13"), promised_on=day("2026-06-16"))
    planned = plan_actions([pos(dpd=9)], POLICY, AS_OF, disputed=[1], promises={1: promise})
    assert {a.reason for a in planned} == {"dispute_hold"}
