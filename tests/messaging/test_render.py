"""Reminder templates: every stage and tone in both languages, money by Babel, HTML escaped."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

import pytest

from arrears.messaging.checks import SAMPLE_LENDER, check_policy_templates, check_templates
from arrears.messaging.content import sample_facts
from arrears.messaging.render import TemplateMissing, render, template_names
from arrears.policy import PolicyError, load_policy, parse_policy

TEMPLATES = ["pre_due_reminder", "m1_gentle", "m2_firm", "m3_final_notice", "ptp_reminder", "payment_received"]


@pytest.mark.parametrize("channel", ["sms", "email"])
@pytest.mark.parametrize("locale", ["zh_CN", "en_US"])
def test_every_stage_and_tone_has_a_template_in_both_languages(channel, locale):
    assert set(TEMPLATES) <= set(template_names(channel, locale))


@pytest.mark.parametrize("locale", ["zh_CN", "en_US"])
@pytest.mark.parametrize("template", ["m1_gentle", "m2_firm", "m3_final_notice"])
def test_overdue_reminders_state_what_the_primer_asks_for(locale, template):
    m = sample_facts(locale)
    for channel in ("sms", "email"):
        r = render(channel, template, m, SAMPLE_LENDER)
        assert m.borrower_name in r.text
        assert m.contract_no in r.text
        assert str(m.dpd) in r.text
        assert SAMPLE_LENDER.pay_url in r.text  # how to pay
        assert SAMPLE_LENDER.hotline in r.text  # how to dispute
        assert (
            ("TD" in r.text or "退订" in r.text) if locale == "zh_CN" else ("STOP" in r.text or "UNSUBSCRIBE" in r.text)
        )
        assert "110101" not in r.text  # never an ID number


def test_money_and_dates_are_formatted_for_the_borrowers_locale():
    zh = render("sms", "m1_gentle", sample_facts("zh_CN"), SAMPLE_LENDER).text
    en = render("sms", "m1_gentle", sample_facts("en_US"), SAMPLE_LENDER).text
    assert "¥138,493.12" in zh and "2026年11月30日" in zh
    assert "$138,493.12" in en and "November 30, 2026" in en


def test_email_shows_the_breakdown_in_text_and_html():
    m = sample_facts("zh_CN")
    r = render("email", "m2_firm", m, SAMPLE_LENDER)
    for part in (r.text, r.html):
        assert "¥123,456.78" in part and "¥2,345.67" in part and "¥138,493.12" in part
    assert r.subject and m.contract_no in r.subject


def test_html_is_autoescaped_and_text_is_not():
    m = replace(sample_facts("en_US"), borrower_name="<b>O'Brien & Sons</b>")
    r = render("email", "m1_gentle", m, SAMPLE_LENDER)
    assert "&lt;b&gt;O&#39;Brien &amp; Sons&lt;/b&gt;" in r.html
    assert "<b>O'Brien & Sons</b>" in r.text
    assert "<b>O'Brien & Sons</b>" in render("sms", "m1_gentle", m, SAMPLE_LENDER).text


def test_chinese_sms_lines_join_without_spaces():
    text = render("sms", "m1_gentle", sample_facts("zh_CN"), SAMPLE_LENDER).text
    assert " " not in text


def test_a_missing_template_is_a_clear_error():
    with pytest.raises(TemplateMissing, match="no sms template"):
        render("sms", "no_such_template", sample_facts("en_US"), SAMPLE_LENDER)


def test_shipped_templates_fit_the_default_segment_limit():
    results = check_templates(load_policy())
    assert [r for r in results if r.warning] == []
    assert {r.encoding for r in results if r.channel == "sms"} == {"UCS-2", "GSM-7"}


def test_template_checks_warn_above_the_policys_segment_limit():
    policy = _policy_with(messages={"sms_max_segments": 1})
    warned = {(r.locale, r.template) for r in check_templates(policy) if r.warning}
    assert ("zh_CN", "m1_gentle") in warned
    assert ("en_US", "payment_received") not in warned  # 151 GSM-7 characters: one segment


def test_a_policy_naming_a_missing_template_fails_at_start():
    policy = _policy_with(
        strategy={"M1": {"any": [{"action": "x", "channel": "sms", "template": "nope", "tone": "gentle"}]}}
    )
    with pytest.raises(PolicyError, match="sms/zh_CN/nope"):
        check_policy_templates(policy)


def test_minimum_payment_is_what_cures_the_loan():
    m = replace(sample_facts("en_US"), overdue_total=Decimal("10.00"))
    assert m.minimum_payment == Decimal("10.00")


def _policy_with(**overrides):  # type: ignore[no-untyped-def]
    import yaml

    from arrears.policy import DEFAULT_POLICY_PATH

    data = yaml.safe_load(DEFAULT_POLICY_PATH.read_text(encoding="utf-8"))
    data.update(overrides)
    return parse_policy(data)
