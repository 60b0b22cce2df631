"""The pure rules behind cases: promise verdicts, escalation rules and the legal chain,
call queue order and assignment."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from arrears.cases.calls import CallCandidate, assign_calls
from arrears.cases.escalation import EscalationView, legal_chain, legal_reference, rule_fired
from arrears.cases.promises import PromiseError, broken_statuses, check_promise, judge
from arrears.policy import EscalationRule, EscalationSpec, PolicyError, load_policy, parse_policy
from tests.factories import D


@pytest.mark.parametrize(
    ("promised", "paid", "verdict"),
    [("500", "500", "kept"), ("500", "800", "kept"), ("500", "499.99", "partly_kept"), ("500", "0", "broken")],
)
def test_a_promise_is_judged_by_what_was_paid(promised: str, paid: str, verdict: str) -> None:
    assert judge(D(promised), D(paid)) == verdict


def test_partly_kept_counts_as_broken_only_when_the_policy_says_so() -> None:
    assert broken_statuses(True) == ("broken", "partly_kept")
    assert broken_statuses(False) == ("broken",)


@pytest.mark.parametrize(
    ("amount", "made", "promised", "reason"),
    [
        ("0", "2026-11-23", "2026-11-25", "positive"),
        ("100", "2026-11-23", "2026-11-22", "before"),
        ("100", "2026-11-23", "2027-03-01", "more than 60 days"),
    ],
)
def test_an_impossible_promise_is_refused_with_the_reason(amount: str, made: str, promised: str, reason: str) -> None:
    with pytest.raises(PromiseError, match=reason):
        check_promise(D(amount), date.fromisoformat(made), date.fromisoformat(promised))


def view(stage: str = "M3", dpd: int = 70, total: str = "1000", broken: int = 0) -> EscalationView:
    return EscalationView(1, "LN1", 1, stage, dpd, D(total), broken, "default")


SPEC = EscalationSpec(
    rules=[
        EscalationRule(name="over_90_dpd", min_dpd=91),
        EscalationRule(name="two_broken_promises", broken_promises=2),
        EscalationRule(name="large_balance_in_m3", stages=["M3"], min_overdue_total=Decimal(50000)),
    ]
)


def test_escalation_fires_the_first_rule_whose_every_condition_holds() -> None:
    assert rule_fired(view(dpd=90), SPEC) is None
    assert rule_fired(view(stage="M3+", dpd=91), SPEC) == "over_90_dpd"
    assert rule_fired(view(stage="M1", dpd=5, broken=2), SPEC) == "two_broken_promises"
    assert rule_fired(view(stage="M3", total="50000"), SPEC) == "large_balance_in_m3"
    assert rule_fired(view(stage="M2", dpd=45, total="90000"), SPEC) is None  # the amount rule is for M3 only


def test_an_amount_rule_reads_its_threshold_in_the_loans_currency() -> None:
    spec = EscalationSpec(
        rules=[EscalationRule(name="big", stages=["M3"], min_overdue_total={"default": D(50000), "USD": D(7000)})]
    )
    usd = EscalationView(1, "LN1", 1, "M3", 70, D("8000"), 0, "default", "USD")
    cny = EscalationView(1, "LN1", 1, "M3", 70, D("8000"), 0, "default", "CNY")
    assert (rule_fired(usd, spec), rule_fired(cny, spec)) == ("big", None)


def test_the_legal_chain_follows_the_products_track_with_owners_and_due_dates() -> None:
    owners = {"lawyers_letter": "firm A", "arbitration": "firm B", "enforcement": "team C"}
    steps = legal_chain(date(2026, 11, 23), "arbitration", SPEC, owners)
    assert [(s.seq, s.kind, s.owner, s.due_on) for s in steps] == [
        (1, "lawyers_letter", "firm A", date(2026, 12, 3)),
        (2, "arbitration", "firm B", date(2027, 2, 6)),
        (3, "enforcement", "team C", date(2027, 7, 21)),
    ]
    assert legal_reference("LN9", date(2026, 11, 23)) == "LC-20261123-LN9"


def test_an_escalation_rule_needs_a_condition_and_known_stages() -> None:
    with pytest.raises(ValueError, match="at least one"):
        EscalationRule(name="always")
    import yaml

    from arrears.policy import DEFAULT_POLICY_PATH

    data = yaml.safe_load(DEFAULT_POLICY_PATH.read_text())
    data["escalation"]["rules"].append({"name": "typo", "stages": ["M9"], "min_dpd": 5})
    with pytest.raises(PolicyError, match=r"escalation.rules\[3\].stages: unknown stage 'M9'"):
        parse_policy(data)


def call(loan: str, risk: str, total: str, dpd: int = 10, address: str = "") -> CallCandidate:
    return CallCandidate(f"k:{loan}", 1, loan, "B", address, "M1", risk, dpd, D(total), "m1_call")


def test_calls_are_ordered_by_risk_then_amount_and_dealt_round_robin() -> None:
    calls = [
        call("L1", "low", "9000"),
        call("L2", "high", "100"),
        call("L3", "high", "5000"),
        call("L4", "medium", "1"),
    ]
    queued = assign_calls(calls, ["li", "wang"])
    assert [(q.call.loan_no, q.collector, q.rank) for q in queued] == [
        ("L3", "li", 1),
        ("L2", "wang", 1),
        ("L4", "li", 2),
        ("L1", "wang", 2),
    ]


def test_a_rerun_appends_to_the_queues_without_reshuffling_them() -> None:
    queued = assign_calls([call("L5", "low", "1")], ["li", "wang"], already={"li": 2, "wang": 1})
    assert [(q.collector, q.rank) for q in queued] == [("wang", 2)]


def test_region_assignment_matches_the_address_and_deals_the_rest() -> None:
    calls = [
        call("L1", "high", "1", address="上海市浦东新区"),
        call("L2", "high", "2", address="北京市朝阳区"),
        call("L3", "low", "3", address="广州市"),
    ]
    queued = assign_calls(calls, ["li", "wang"], mode="region", regions={"上海": "zhao", "北京": "wang"})
    assert {q.call.loan_no: q.collector for q in queued} == {"L1": "zhao", "L2": "wang", "L3": "li"}


def test_no_collectors_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="ARREARS_COLLECTORS"):
        assign_calls([call("L1", "low", "1")], [])


def test_the_default_policy_reminds_the_day_before_a_promise_and_escalates_past_90_days() -> None:
    policy = load_policy()
    assert policy.promises.reminder_days_before == 1
    assert {r.template for r in policy.promises.reminders} == {"ptp_reminder"}
    assert policy.escalation.rules[0].min_dpd == 91
    assert policy.product("default").legal_track == "litigation"
