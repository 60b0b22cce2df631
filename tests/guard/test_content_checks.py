"""Template content checks at policy load: third-party templates carry no debt details, and no
template contains a forbidden word."""

from __future__ import annotations

import pytest
import yaml

from arrears.messaging.checks import check_policy_templates
from arrears.messaging.content_rules import forbidden_word_problems, third_party_problems
from arrears.policy import DEFAULT_POLICY_PATH, PolicyError, load_policy, parse_policy


def _policy(**changes):  # type: ignore[no-untyped-def]
    data = yaml.safe_load(DEFAULT_POLICY_PATH.read_text(encoding="utf-8"))
    for path, value in changes.items():
        target = data
        *parents, last = path.split("/")
        for p in parents:
            target = target[int(p)] if p.isdigit() else target[p]
        target[last] = value
    return parse_policy(data)


def test_the_shipped_templates_pass_the_shipped_checks():
    check_policy_templates(load_policy())


def test_a_policy_sending_a_debt_reminder_to_a_third_party_fails_at_load():
    policy = _policy(**{"strategy/M3/any/0/to": "third_party"})  # m3_final_notice: full of amounts
    with pytest.raises(
        PolicyError, match=r"templates/sms/zh_CN/m3_final_notice.txt.j2: sent to third parties but not marked"
    ):
        check_policy_templates(policy)


def test_third_party_contacts_are_sms_only():
    with pytest.raises(PolicyError, match="third_party contacts are SMS"):
        _policy(**{"strategy/M3/any/1/to": "third_party"})  # an email


def test_a_template_marked_safe_that_names_a_debt_field_fails(tmp_path):
    folder = tmp_path / "sms" / "zh_CN"
    folder.mkdir(parents=True)
    (folder / "tp.txt.j2").write_text(
        "{# third-party-safe #}\n请转告{{ m.borrower_name }}还款{{ m.overdue_total|money }}\n"
    )
    [problem] = third_party_problems({"tp"}, ["zh_CN"], tmp_path)
    assert "uses debt details ['overdue_total']" in problem


def test_a_forbidden_word_fails_with_file_line_and_word(tmp_path):
    folder = tmp_path / "sms" / "zh_CN"
    folder.mkdir(parents=True)
    (folder / "x.txt.j2").write_text("您好\n再不还款就让你坐牢\n")
    assert forbidden_word_problems({"zh_CN": ["坐牢"]}, tmp_path) == [
        "templates/sms/zh_CN/x.txt.j2:2: forbidden word '坐牢'"
    ]


def test_guard_hours_must_be_a_real_window():
    with pytest.raises(PolicyError, match=r"guard.channels.sms.hours: .*end after it starts"):
        _policy(**{"guard/channels/sms/hours": ["21:00", "08:00"]})
    with pytest.raises(PolicyError, match="holidays"):
        _policy(**{"guard/holidays": {"country": "XX"}})
