"""Exact in every corner (Hypothesis over random loans, payments and days): a borrower who pays
exactly what we showed is never left in arrears, and a loan is never delinquent with nothing to pay."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from arrears.engine import Installment, LoanTerms, Payment, assess
from arrears.engine.ledger import COMPONENTS
from tests.factories import day, inst, pay, terms

START = date(2024, 1, 31)  # month ends and a leap day inside the range
cents = st.integers(min_value=1, max_value=500_000).map(lambda c: Decimal(c).scaleb(-2))
small_cents = st.integers(min_value=0, max_value=20_000).map(lambda c: Decimal(c).scaleb(-2))
rates = st.integers(min_value=0, max_value=2_000).map(lambda r: Decimal(r).scaleb(-6))  # up to 0.2 % a day


@st.composite
def loans(draw: st.DrawFn) -> tuple[LoanTerms, list[Installment], list[Payment]]:
    n = draw(st.integers(min_value=1, max_value=4))
    gaps = draw(st.lists(st.integers(min_value=1, max_value=40), min_size=n, max_size=n))
    dues = [START + timedelta(days=sum(gaps[: k + 1])) for k in range(n)]
    schedule = [
        Installment(due, k + 1, draw(cents), draw(small_cents), draw(st.sampled_from([Decimal(0), draw(small_cents)])))
        for k, due in enumerate(dues)
    ]
    paid = draw(
        st.lists(st.tuples(st.integers(min_value=0, max_value=200), cents), max_size=4)
    )  # days after START, amount
    payments = [Payment(START + timedelta(days=d), a) for d, a in paid]
    waterfall = tuple(draw(st.permutations(COMPONENTS)))
    loan_terms = LoanTerms(draw(rates), draw(small_cents), draw(st.integers(min_value=0, max_value=5)), waterfall)
    return loan_terms, schedule, payments


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(loans(), st.integers(min_value=0, max_value=300))
def test_paying_exactly_the_displayed_total_leaves_nothing_overdue_the_next_day(loan, offset):
    loan_terms, schedule, payments = loan
    d = START + timedelta(days=offset)
    assume(all(i.due_date != d for i in schedule))  # one due that day would be overdue the next
    shown = assess(loan_terms, schedule, payments, d)
    assume(shown.overdue.total > 0)
    after = assess(loan_terms, schedule, [*payments, Payment(d, shown.overdue.total)], d + timedelta(days=1))
    assert (after.dpd, after.overdue.total) == (0, Decimal("0.00")), (shown, after)


@settings(max_examples=400, deadline=None)
@given(loans(), st.integers(min_value=0, max_value=300))
def test_a_delinquent_loan_always_has_at_least_a_cent_to_pay(loan, offset):
    loan_terms, schedule, payments = loan
    s = assess(loan_terms, schedule, payments, START + timedelta(days=offset))
    if s.dpd > 0:
        assert s.overdue.total >= Decimal("0.01")
        assert s.overdue.principal + s.overdue.interest >= Decimal("0.01")
    assert s.overdue.total == sum(s.overdue[:4], Decimal(0))  # the total is the sum of the parts shown


def test_a_sub_cent_remainder_never_keeps_a_loan_delinquent():
    """The reproduction: penalty accrues in fractions of a cent and is paid before principal."""
    loan_terms = terms(rate="0.0005", late_fee="0")
    schedule = [inst("2024-03-01", principal="1000.01", interest="0.00")]
    payments = [pay("2024-03-04", "1001.01")]  # what the position of 2024-03-03 showed
    shown = assess(loan_terms, schedule, [], day("2024-03-03"))
    assert shown.overdue.total == Decimal("1001.01")
    later = assess(loan_terms, schedule, payments, day("2024-06-15"))
    assert (later.dpd, later.overdue.total) == (0, Decimal("0.00"))


def test_penalty_is_whole_cents_once_a_payment_reaches_it():
    """1000.01 a day late twice at 0.05 %: 1.00001 accrued, 1.00 payable; what a payment leaves of
    the penalty is whole cents."""
    loan_terms = terms(rate="0.0005")
    schedule = [inst("2024-03-01", principal="1000.01", interest="0.00")]
    s = assess(loan_terms, schedule, [pay("2024-03-04", "0.40")], day("2024-03-04"))
    # 1.00 payable, 0.40 paid -> 0.60 left; day 3's penalty (0.500005) accrues afterwards, rounded alone
    assert s.overdue.penalty == Decimal("0.60") + Decimal("0.50")
    assert s.overdue.principal == Decimal("1000.01")


def test_fees_or_penalty_alone_do_not_make_a_loan_delinquent():
    """A product paying principal first: what is left is a fee; DPD follows principal and interest."""
    principal_first = ("principal", "interest", "penalty", "fees")
    loan_terms = terms(rate="0.001", late_fee="30", grace_days=0, waterfall=principal_first)
    schedule = [inst("2024-03-01", principal="1000.00", interest="10.00")]
    s = assess(loan_terms, schedule, [pay("2024-03-05", "1010.00")], day("2024-03-10"))
    assert s.dpd == 0 and s.overdue.fees == Decimal("30.00") and s.overdue.penalty > 0
    assert s.times_late == 1  # settled after its due date: principal and interest paid on 03-05
