"""Hardship in the engine: waivers forgive accrued amounts up to a limit; a repayment plan
replaces the schedule from its effective date (README, "Hardship")."""

from __future__ import annotations

from arrears.engine import RepaymentPlan, Waiver, assess, assess_with_hardship
from tests.factories import D, day, inst, pay, terms


def waiver(on: str, penalty: str = "0", interest: str = "0", fees: str = "0") -> Waiver:
    return Waiver(day(on), D(penalty), D(interest), D(fees))


def test_a_penalty_waiver_forgives_what_accrued_by_its_day_and_penalty_accrues_again_after() -> None:
    schedule = [inst("2026-03-01", principal="1000", interest="50")]
    # 0.0005 x 1000 = 0.50 a day; by 03-11: 10 days = 5.00, all waived; 5 more days by 03-16
    s = assess_with_hardship(terms(), schedule, [], day("2026-03-16"), waivers=[waiver("2026-03-11", penalty="100")])
    assert s.overdue.penalty == D("2.50")
    assert s.overdue.total == D("1052.50")


def test_a_waiver_never_forgives_more_than_its_limit() -> None:
    schedule = [inst("2026-03-01", principal="1000", interest="50")]
    s = assess(terms(late_fee="30"), schedule, [], day("2026-03-11"), [waiver("2026-03-11", penalty="2", fees="10")])
    assert (s.overdue.penalty, s.overdue.fees) == (D("3.00"), D("20.00"))


def test_waiving_the_last_unpaid_interest_settles_the_installment_and_dpd_is_zero() -> None:
    schedule = [inst("2026-03-01", principal="1000", interest="50")]
    payments = [pay("2026-03-01", "1000")]  # fees -> penalty -> interest -> principal: 50 interest, 950 principal
    s = assess(terms(rate="0"), schedule, payments, day("2026-03-10"), [waiver("2026-03-05", interest="0")])
    assert s.dpd == 9
    s = assess(
        terms(rate="0", waterfall=("principal", "fees", "penalty", "interest")),
        schedule,
        payments,
        day("2026-03-10"),
        [waiver("2026-03-05", interest="50")],
    )
    assert s.dpd == 0 and s.overdue.total == D("0.00")


def test_a_payment_on_the_waiver_day_is_applied_before_the_waiver() -> None:
    schedule = [inst("2026-03-01", principal="1000", interest="0")]
    # by 03-10: 9 days of penalty = 4.50; the 03-11 payment of 5.00 pays it (penalty before
    # principal) and 0.50 of principal; the waiver then forgives only 03-11's own penalty
    s = assess(terms(), schedule, [pay("2026-03-11", "5")], day("2026-03-11"), [waiver("2026-03-11", penalty="5")])
    assert s.overdue.principal == D("999.50")
    assert s.overdue.penalty == D("0.00")


def test_a_repayment_plan_replaces_the_schedule_and_restarts_dpd() -> None:
    schedule = [inst("2026-03-01", principal="1000", interest="50")]
    plan = RepaymentPlan(
        day("2026-03-20"), (inst("2026-04-15", "600", "0", seq=1), inst("2026-05-15", "470", "0", seq=2))
    )
    before = assess_with_hardship(terms(), schedule, [], day("2026-03-19"), plan)
    assert before.dpd == 18
    on_plan = assess_with_hardship(terms(), schedule, [], day("2026-04-01"), plan)
    assert (on_plan.dpd, on_plan.overdue.total, on_plan.next_due_date) == (0, D("0.00"), day("2026-04-15"))
    late_on_plan = assess_with_hardship(terms(), schedule, [pay("2026-04-15", "100")], day("2026-04-20"), plan)
    assert late_on_plan.dpd == 5
    assert late_on_plan.overdue.principal == D("500.00")
    assert late_on_plan.overdue.penalty == D("1.25")  # 5 days x 0.0005 x 500


def test_a_credit_before_the_plan_carries_into_it_and_lateness_history_is_kept() -> None:
    schedule = [inst("2026-03-01", principal="1000", interest="0")]
    payments = [pay("2026-03-05", "1100")]  # settled 4 days late: 1.50 penalty, then 98.50 over
    plan = RepaymentPlan(day("2026-03-20"), (inst("2026-04-15", "300", "0"),))
    s = assess_with_hardship(terms(), schedule, payments, day("2026-04-20"), plan)
    assert s.overdue.principal == D("201.50")  # 300 - the 98.50 credit carried in
    assert s.overdue.penalty == D("0.50")  # 5 days x 0.0005 x 201.50
    assert s.times_late == 1
