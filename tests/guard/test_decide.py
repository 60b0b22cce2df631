"""The guard's rules, one behaviour each (pure: no database, no Prefect)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from arrears.guard import (
    ALLOW,
    DEFER,
    SUPPRESS,
    ChannelRules,
    Contact,
    ContactCalendar,
    GuardRules,
    Hours,
    Standing,
    decide,
    record,
)
from arrears.policy import load_policy

SHANGHAI = ZoneInfo("Asia/Shanghai")
NEW_YORK = ZoneInfo("America/New_York")
DAY_HOURS = Hours(time(8), time(21))
RULES = GuardRules(
    channels={
        "sms": ChannelRules(DAY_HOURS, per_day=2, per_week=6),
        "email": ChannelRules(DAY_HOURS, per_day=2, per_week=7),
        "call_task": ChannelRules(DAY_HOURS, per_day=1, per_week=4),
        "letter": ChannelRules(None, per_day=2, per_week=3),
    },
    calendar=ContactCalendar(country="CN"),
)
WEEKENDS_OFF = GuardRules(
    channels=RULES.channels, calendar=ContactCalendar(excluded_weekdays=frozenset({5, 6}), country="CN")
)


def sms(key: str = "k1", loans: tuple[str, ...] = ("LN1",), **kw: object) -> Contact:
    return Contact(key, "sms", frozenset(loans), **kw)  # type: ignore[arg-type]


def at(zone: ZoneInfo, y: int, m: int, d: int, hh: int, mm: int = 0) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=zone)


def standing(zone: str = "Asia/Shanghai", **kw: object) -> Standing:
    return Standing(timezone=zone, **kw)  # type: ignore[arg-type]


def test_the_default_policy_has_lawful_hours_for_every_channel_that_reaches_a_person():
    rules = load_policy().guard_rules
    for channel in ("sms", "email", "call_task"):
        assert str(rules.channel(channel).hours) == "08:00-21:00"
    assert rules.channel("letter").hours is None


def test_a_contact_inside_the_borrowers_hours_on_a_working_day_is_allowed():
    now = at(SHANGHAI, 2026, 11, 23, 9)
    d = decide(sms(), standing(), RULES, now)
    assert (d.verdict, d.rule, d.at) == (ALLOW, "allowed", now)


def test_planned_at_2059_is_allowed_but_dispatched_at_2101_is_deferred_to_0800_next_day():
    assert decide(sms(), standing(), RULES, at(SHANGHAI, 2026, 11, 23, 20, 59)).verdict == ALLOW
    d = decide(sms(), standing(), RULES, at(SHANGHAI, 2026, 11, 23, 21, 1))
    assert (d.verdict, d.rule) == (DEFER, "hours")
    assert d.at == at(SHANGHAI, 2026, 11, 24, 8)


def test_a_server_in_utc_uses_the_borrowers_clock_not_its_own():
    now = datetime(2026, 11, 23, 23, 30, tzinfo=UTC)  # 07:30 on the 24th in Shanghai
    d = decide(sms(), standing("Asia/Shanghai"), RULES, now)
    assert d.verdict == DEFER and d.at == datetime(2026, 11, 24, 0, 0, tzinfo=UTC)
    # the same instant is 18:30 the day before in New York: allowed there
    assert decide(sms(), standing("America/New_York"), RULES, now).verdict == ALLOW


def test_new_york_hours_follow_daylight_saving_on_both_sides_of_the_change():
    # 2026-03-08: clocks go forward at 02:00; 08:00 local is 13:00 UTC before, 12:00 UTC after
    before = decide(sms(), standing("America/New_York"), RULES, datetime(2026, 3, 7, 12, 30, tzinfo=UTC))
    assert before.verdict == DEFER and before.at == datetime(2026, 3, 7, 13, 0, tzinfo=UTC)
    after = decide(sms(), standing("America/New_York"), RULES, datetime(2026, 3, 8, 12, 30, tzinfo=UTC))
    assert after.verdict == ALLOW  # 08:30 EDT
    # deferred across the change overnight: 22:00 EST on the 7th -> 08:00 EDT on the 8th
    over = decide(sms(), standing("America/New_York"), RULES, at(NEW_YORK, 2026, 3, 7, 22))
    assert over.at == at(NEW_YORK, 2026, 3, 8, 8) and over.at.utcoffset() == timedelta(hours=-4)
    # 2026-11-01: clocks go back; 20:30 EST is 01:30 UTC next day, still inside the window
    assert decide(sms(), standing("America/New_York"), RULES, datetime(2026, 11, 2, 1, 30, tzinfo=UTC)).verdict == ALLOW


def test_a_chinese_public_holiday_defers_to_the_next_working_day():
    d = decide(sms(), standing(), RULES, at(SHANGHAI, 2026, 1, 1, 10))  # New Year's Day
    assert (d.verdict, d.rule) == (DEFER, "rest_day")
    assert d.at == at(SHANGHAI, 2026, 1, 3, 8)  # Jan 2 is a substituted day off; Jan 3 a Saturday


def test_a_deferral_longer_than_the_policy_allows_is_suppressed():
    d = decide(sms(), standing(), RULES, at(SHANGHAI, 2026, 10, 1, 10))  # National Day: through Oct 6
    assert (d.verdict, d.rule) == (SUPPRESS, "defer_too_long")


def test_a_holiday_adjusted_working_saturday_is_a_contact_day_when_weekends_are_excluded():
    working_saturday = at(SHANGHAI, 2026, 2, 28, 10)  # 调休: works for the Spring Festival break
    assert WEEKENDS_OFF.calendar.rest_reason(working_saturday.date()) is None
    assert decide(sms(), standing(), WEEKENDS_OFF, working_saturday).verdict == ALLOW
    ordinary_saturday = at(SHANGHAI, 2026, 3, 7, 10)
    d = decide(sms(), standing(), WEEKENDS_OFF, ordinary_saturday)
    assert (d.verdict, d.rule, d.at) == (DEFER, "rest_day", at(SHANGHAI, 2026, 3, 9, 8))


def test_letters_are_not_bound_to_hours():
    letter = Contact("k", "letter", frozenset({"LN1"}))
    assert decide(letter, standing(), RULES, at(SHANGHAI, 2026, 11, 23, 23)).verdict == ALLOW


def test_caps_count_the_person_across_all_their_loans():
    s = standing()
    now = at(SHANGHAI, 2026, 11, 23, 9)
    verdicts = []
    for n, loan in enumerate(("LN1", "LN2", "LN3")):
        c = sms(f"k{n}", (loan,))
        d = decide(c, s, RULES, now)
        s = record(s, c, d)
        verdicts.append((d.verdict, d.rule))
    assert verdicts == [(ALLOW, "allowed"), (ALLOW, "allowed"), (SUPPRESS, "cap_day")]


def test_the_rolling_seven_day_cap_counts_the_last_seven_days():
    now = at(SHANGHAI, 2026, 11, 23, 9)
    made = tuple(now - timedelta(days=d) for d in (1, 2, 3, 4, 5, 6))
    assert decide(sms(), standing(contacts={"sms": made}), RULES, now).rule == "cap_week"
    older = tuple(now - timedelta(days=d) for d in (2, 3, 4, 5, 6, 7))  # the 7th day back has left the window
    assert decide(sms(), standing(contacts={"sms": older}), RULES, now).verdict == ALLOW


def test_stop_flags_suppress_every_channel():
    now = at(SHANGHAI, 2026, 11, 23, 9)
    for flag in ("cease_contact", "bankruptcy", "deceased", "legal_representation"):
        for channel in ("sms", "email", "letter", "call_task"):
            d = decide(Contact("k", channel, frozenset({"LN1"})), standing(flags={flag: ""}), RULES, now)
            assert (d.verdict, d.rule) == (SUPPRESS, flag)
    lawyer = decide(sms(), standing(flags={"legal_representation": "王律师 021-5555"}), RULES, now)
    assert "contact the lawyer" in lawyer.detail and "王律师" in lawyer.detail


def test_an_open_dispute_stops_contact_about_that_loan_only():
    s = standing(disputed_loans=frozenset({"LN1"}))
    now = at(SHANGHAI, 2026, 11, 23, 9)
    assert decide(sms(loans=("LN1", "LN2")), s, RULES, now).rule == "dispute_open"
    assert decide(sms(loans=("LN2",)), s, RULES, now).verdict == ALLOW


def test_opt_out_consent_and_address_are_checked_per_channel():
    now = at(SHANGHAI, 2026, 11, 23, 9)
    assert decide(sms(), standing(opted_out={"sms": "STOP"}), RULES, now).rule == "opted_out"
    email = Contact("k", "email", frozenset({"LN1"}))
    assert decide(email, standing(opted_out={"sms": "STOP"}), RULES, now).verdict == ALLOW
    assert decide(sms(consent=False), standing(), RULES, now).rule == "no_consent"
    assert decide(sms(reachable=False), standing(), RULES, now).rule == "no_address"


def test_a_conversation_pauses_contact_for_the_policys_gap():
    now = at(SHANGHAI, 2026, 11, 23, 9)
    s = standing(last_conversation=now - timedelta(hours=20))
    d = decide(sms(), s, RULES, now)
    assert (d.verdict, d.rule, d.at) == (DEFER, "conversation_gap", now + timedelta(hours=28))


def test_third_parties_need_consent_a_safe_template_and_stay_under_their_caps():
    now = at(SHANGHAI, 2026, 11, 23, 9)

    def third(**kw: object) -> Contact:
        return Contact("k", "sms", frozenset({"LN1"}), **{"third_party": 7, "third_party_safe": True, **kw})  # type: ignore[arg-type]

    assert decide(third(consent=False), standing(), RULES, now).rule == "third_party_consent"
    assert decide(third(third_party_safe=False), standing(), RULES, now).rule == "third_party_template"
    assert decide(third(), standing(), RULES, now).verdict == ALLOW
    recent = standing(third_party_contacts=(now - timedelta(days=2),))
    assert decide(third(), recent, RULES, now).rule == "third_party_cap"
    many = standing(third_party_contacts=tuple(now - timedelta(days=30 * n) for n in (1, 2, 3)))
    assert decide(third(), many, RULES, now).rule == "third_party_cap"
    # the borrower's own opt-out does not silence the rules for third parties, and vice versa
    assert decide(sms(), recent, RULES, now).verdict == ALLOW


def test_the_calendar_reports_why_a_day_is_a_rest_day():
    cal = ContactCalendar(excluded_weekdays=frozenset({6}), country="CN")
    assert cal.rest_reason(date(2026, 10, 1)) == "public holiday"
    assert cal.rest_reason(date(2026, 11, 22)) == "excluded weekday (sun)"
    assert cal.rest_reason(date(2026, 9, 20)) is None  # a Sunday made a working day (调休)
    assert cal.rest_reason(date(2026, 11, 23)) is None


def test_the_weekend_inside_a_holiday_break_is_a_rest_day_too():
    cal = ContactCalendar(country="CN")
    assert cal.rest_reason(date(2026, 10, 4)).startswith("public holiday")  # Sunday between Oct 3 and Oct 5
    assert cal.rest_reason(date(2026, 11, 22)) is None  # an ordinary Sunday
