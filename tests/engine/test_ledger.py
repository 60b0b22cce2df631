"""The delinquency engine's rules, one behaviour per test (README: "The delinquency engine")."""

from __future__ import annotations

from arrears.engine import assess
from tests.factories import D, day, inst, pay, terms


def test_nothing_due_yet_is_zero_dpd_and_nothing_overdue():
    s = assess(terms(), [inst("2026-02-10")], [], day("2026-02-01"))
    assert s.dpd == 0
    assert s.overdue.total == 0
    assert s.next_due_date == day("2026-02-10")


def test_installment_due_on_as_of_is_not_yet_overdue():
    s = assess(terms(), [inst("2026-02-10")], [], day("2026-02-10"))
    assert s.dpd == 0
    assert s.overdue.total == 0


def test_payment_on_due_date_accrues_no_penalty():
    s = assess(terms(late_fee="50"), [inst("2026-01-31")], [pay("2026-01-31", "1050")], day("2026-03-01"))
    assert s.dpd == 0
    assert s.overdue.total == 0
    assert s.times_late == 0


def test_unpaid_installment_accrues_daily_penalty_on_principal_after_due_date():
    # days 11..20 January: 10 days x 1000 x 0.0005 = 5.00
    s = assess(terms(), [inst("2026-01-10")], [], day("2026-01-20"))
    assert s.dpd == 10
    assert (s.overdue.principal, s.overdue.interest, s.overdue.penalty, s.overdue.fees) == (
        D("1000.00"),
        D("50.00"),
        D("5.00"),
        D("0.00"),
    )
    assert s.overdue.total == D("1055.00")


def test_partial_payment_pays_penalty_then_interest_then_principal_and_lowers_penalty_from_that_day():
    # 4 days (11..14) on 1000 = 2.00 penalty; payment of 550 on the 15th pays 2.00 + 50 + 498;
    # days 15..20 accrue on 502: 6 x 502 x 0.0005 = 1.506
    s = assess(terms(), [inst("2026-01-10")], [pay("2026-01-15", "550")], day("2026-01-20"))
    assert s.overdue.principal == D("502.00")
    assert s.overdue.interest == D("0.00")
    assert s.overdue.penalty == D("1.51")
    assert s.overdue.total == D("503.51")
    assert s.dpd == 10  # principal still unpaid: DPD runs from the original due date


def test_partial_payment_that_clears_principal_and_interest_but_not_fees_leaves_dpd_zero():
    # waterfall principal-first leaves the penalty unpaid but the installment is no longer past due
    t = terms(waterfall=("principal", "interest", "penalty", "fees"))
    s = assess(t, [inst("2026-01-10")], [pay("2026-01-15", "1050")], day("2026-01-20"))
    assert s.dpd == 0
    assert s.overdue.penalty == D("2.00")  # days 11..14 on 1000
    assert s.overdue.principal == 0


def test_waterfall_order_is_configurable_per_product():
    paid = [pay("2026-01-15", "500")]
    fees_first = assess(terms(), [inst("2026-01-10")], paid, day("2026-01-15"))
    principal_first = assess(
        terms(waterfall=("principal", "interest", "penalty", "fees")), [inst("2026-01-10")], paid, day("2026-01-15")
    )
    assert fees_first.overdue.principal == D("552.00")  # 500 - 2.00 penalty - 50 interest = 448 to principal
    assert principal_first.overdue.principal == D("500.00")


def test_late_fee_is_not_charged_within_grace_days():
    s = assess(terms(late_fee="50", grace_days=3), [inst("2026-01-10")], [], day("2026-01-13"))
    assert s.dpd == 3
    assert s.overdue.fees == 0


def test_late_fee_is_charged_once_when_dpd_exceeds_grace_days():
    t = terms(late_fee="50", grace_days=3)
    assert assess(t, [inst("2026-01-10")], [], day("2026-01-14")).overdue.fees == D("50.00")
    assert assess(t, [inst("2026-01-10")], [], day("2026-03-14")).overdue.fees == D("50.00")


def test_payment_on_the_fee_day_that_clears_the_installment_avoids_the_late_fee():
    # penalty through the 13th: 3 days x 1000 x 0.0005 = 1.50
    t = terms(late_fee="50", grace_days=3)
    s = assess(t, [inst("2026-01-10")], [pay("2026-01-14", "1051.50")], day("2026-01-20"))
    assert s.dpd == 0
    assert s.overdue.total == 0
    assert s.times_late == 1


def test_late_fee_applies_per_installment():
    t = terms(late_fee="50", grace_days=3)
    s = assess(t, [inst("2026-01-10", seq=1), inst("2026-02-10", seq=2)], [], day("2026-02-20"))
    assert s.overdue.fees == D("100.00")


def test_several_overdue_installments_dpd_runs_from_the_oldest_and_breakdown_covers_all():
    s = assess(
        terms(rate="0"),
        [inst("2026-01-10", seq=1), inst("2026-02-10", seq=2), inst("2026-03-10", seq=3)],
        [],
        day("2026-02-20"),
    )
    assert s.dpd == 41
    assert s.overdue.principal == D("2000.00")
    assert s.overdue.interest == D("100.00")
    assert s.next_due_date == day("2026-03-10")


def test_payments_go_to_the_oldest_installment_first():
    s = assess(
        terms(rate="0"),
        [inst("2026-01-10", seq=1), inst("2026-02-10", seq=2)],
        [pay("2026-02-15", "1050")],
        day("2026-02-20"),
    )
    assert s.dpd == 10  # the first is cleared; the second (due 02-10) is 10 days late
    assert s.overdue.principal == D("1000.00")


def test_over_payment_prepays_later_installments_and_the_rest_is_credit():
    s = assess(
        terms(), [inst("2026-01-10", seq=1), inst("2026-02-10", seq=2)], [pay("2026-01-05", "2500")], day("2026-03-01")
    )
    assert s.dpd == 0
    assert s.overdue.total == 0
    assert s.outstanding_principal == 0
    assert s.credit == D("400.00")


def test_payments_after_as_of_are_ignored():
    s = assess(terms(rate="0"), [inst("2026-01-10")], [pay("2026-01-21", "1050")], day("2026-01-20"))
    assert s.dpd == 10
    assert s.overdue.total == D("1050.00")


def test_leap_day_counts_as_a_day():
    s = assess(terms(), [inst("2024-02-28")], [], day("2024-03-01"))
    assert s.dpd == 2  # 29 February and 1 March
    assert s.overdue.penalty == D("1.00")


def test_month_end_due_date_counts_calendar_days():
    assert assess(terms(), [inst("2026-01-31")], [], day("2026-03-01")).dpd == 29
    assert assess(terms(), [inst("2025-12-31")], [], day("2026-01-01")).dpd == 1


def test_each_figure_is_rounded_half_up_once_at_the_end_not_per_day():
    # 333.33 x 0.0005 = 0.166665 a day; per-day rounding would give 3 x 0.17 = 0.51
    s = assess(terms(), [inst("2026-01-10", principal="333.33", interest="0")], [], day("2026-01-13"))
    assert s.overdue.penalty == D("0.50")


def test_half_cent_rounds_up():
    # 1 x 0.005 x 1 day = 0.005 -> 0.01
    s = assess(terms(rate="0.005"), [inst("2026-01-10", principal="1", interest="0")], [], day("2026-01-11"))
    assert s.overdue.penalty == D("0.01")


def test_total_is_the_sum_of_the_rounded_parts():
    s = assess(terms(), [inst("2026-01-10", principal="333.33", interest="0.005")], [], day("2026-01-13"))
    o = s.overdue
    assert o.total == o.principal + o.interest + o.penalty + o.fees


def test_times_late_counts_installments_settled_after_their_due_date():
    s = assess(
        terms(rate="0"),
        [inst("2026-01-10", seq=1), inst("2026-02-10", seq=2), inst("2026-03-10", seq=3)],
        [pay("2026-01-12", "1050"), pay("2026-02-10", "1050")],
        day("2026-03-01"),
    )
    assert s.times_late == 1
