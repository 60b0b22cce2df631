"""The policy file: the shipped default loads; a bad one fails at load with key path and reason."""

from __future__ import annotations

import copy
from decimal import Decimal

import pytest
import yaml

from arrears.policy import DEFAULT_POLICY_PATH, PolicyError, load_policy, parse_policy

DEFAULT = yaml.safe_load(DEFAULT_POLICY_PATH.read_text(encoding="utf-8"))


def broken(edit):  # type: ignore[no-untyped-def]
    data = copy.deepcopy(DEFAULT)
    edit(data)
    return data


def test_default_policy_matches_the_domain_ladder():
    policy = load_policy()
    assert policy.stage_rules.names == ("pre_due", "M1", "M2", "M3", "M3+", "current")
    channels = {stage: {a.channel for a in policy.actions_for(stage, "low")} for stage in ("M1", "M2", "M3", "M3+")}
    assert channels["M1"] == {"sms", "email", "call_task"}
    assert "letter" in channels["M2"] and "letter" in channels["M3"]
    assert "letter" in channels["M3+"]  # pre-litigation notice; escalation to legal is a rule:
    assert [(r.name, r.min_dpd) for r in policy.escalation.rules][0] == ("over_90_dpd", 91)


def test_risk_specific_actions_replace_the_any_list():
    policy = load_policy()
    assert policy.actions_for("M1", "high")[0].every_days == 5
    assert policy.actions_for("M1", "low")[0].every_days == 7


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda d: d["strategy"]["M1"]["any"][0].update(channel="fax"), "strategy.M1.any[0].channel: Input should be"),
        (lambda d: d["strategy"]["M1"]["any"][0].update(every_days=0), "strategy.M1.any[0].every_days"),
        (lambda d: d["strategy"].update(M9={"any": []}), "strategy.M9: unknown stage"),
        (lambda d: d["stages"]["buckets"][1].update(min_dpd=40), "buckets[1].min_dpd: expected 31"),
        (lambda d: d["risk"].update(high_at=1), "high_at: must be greater than medium_at"),
        (lambda d: d["products"]["default"].update(waterfall=["fees", "principal"]), "products.default.waterfall"),
        (lambda d: d.update(colour="red"), "colour: Extra inputs are not permitted"),
        (lambda d: d["strategy"]["M2"]["any"][3].update(attach_to="m2_call"), "'m2_call' is not an email"),
        (lambda d: d["strategy"]["M2"]["any"][0].update(attach_to="m2_firm_email"), "only a letter can be attached"),
        (lambda d: d["letters"].update(deadline_days=0), "letters.deadline_days"),
        (lambda d: d["risk"].update(medium_at=-2), "risk.medium_at: Input should be greater than or equal to 0"),
        (lambda d: d["risk"].update(dpd=[[31, 2], [1, 1]]), "risk.dpd: thresholds must rise"),
        (lambda d: d["risk"].update(overdue_total=[[-5, 1]]), "risk.overdue_total: thresholds and points must not"),
        (lambda d: d["risk"].update(overdue_total={"USD": [[1, 1]]}), "needs a default entry"),
        (lambda d: d["risk"].update(overdue_total={"default": [[1, 1]], "usd": [[1, 1]]}), "usd is not an ISO 4217"),
    ],
)
def test_bad_policy_fails_with_key_path_and_reason(edit, message):
    with pytest.raises(PolicyError) as err:
        parse_policy(broken(edit), "policy.yaml")
    assert message in str(err.value)
    assert str(err.value).startswith("policy.yaml: ")


def test_unreadable_policy_file_is_a_clear_error(tmp_path):
    bad = tmp_path / "p.yaml"
    bad.write_text("strategy: [unclosed", encoding="utf-8")
    with pytest.raises(PolicyError, match="not valid YAML"):
        load_policy(bad)
    with pytest.raises(PolicyError, match="cannot read policy"):
        load_policy(tmp_path / "missing.yaml")


def test_default_policy_attaches_the_m2_and_m3_letters_to_that_days_email():
    policy = load_policy()
    assert policy.attachments() == {"m2_firm_email": "m2_demand_letter", "m3_final_email": "m3_final_demand"}
    assert policy.letter_templates() == {"m2_demand_letter", "m3_final_demand", "pre_litigation_notice"}
    assert policy.product("any").clause_for("zh_CN").startswith("《借款合同》第八条")


def _readme_risk_table() -> dict[str, list[tuple[Decimal, int]]]:
    """The risk table as the README documents it: factor -> [(threshold, points)]."""
    text = (DEFAULT_POLICY_PATH.parents[2] / "README.md").read_text(encoding="utf-8")
    section = text.split("- **Risk grade**", 1)[1].split("\n\n", 2)[1]
    rows = {}
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 2 and cells[1].startswith("≥"):
            pairs = [p.strip().removeprefix("≥").split(":") for p in cells[1].split(", ≥")]
            rows[cells[0]] = [(Decimal(t.replace(",", "")), int(pts)) for t, pts in pairs]
    return rows


def test_the_readme_documents_the_risk_tables_the_policy_ships():
    policy = load_policy()
    usd, other = policy.risk_rules("USD"), policy.risk_rules("CNY")
    documented = _readme_risk_table()
    assert documented == {
        "DPD": list(other.dpd),
        "overdue total (USD)": list(usd.overdue_total),
        "overdue total (CNY and every other currency)": list(other.overdue_total),
        "past lateness (installments settled after their due date)": list(other.times_late),
        "broken promises": list(other.broken_promises),
    }
    assert policy.risk_rules("EUR") == other  # the default table


def test_risk_amounts_are_per_currency():
    from arrears.engine import grade_risk

    policy = load_policy()
    for currency, grade in (("USD", "medium"), ("CNY", "low")):
        rules = policy.risk_rules(currency)
        assert grade_risk(rules, dpd=1, overdue_total=Decimal("3000"), times_late=0, secured=False) == grade
