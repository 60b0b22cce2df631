"""Property-based checks of the guard over random borrowers, timezones, policies and clocks:
whatever the inputs, no allowed contact breaks a rule, and a deferral lands on an allowed moment."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

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

ZONES = ["Asia/Shanghai", "America/New_York", "America/Los_Angeles", "Europe/London", "Australia/Sydney", "UTC"]
CHANNELS = ["sms", "email", "call_task", "letter"]
FLAGS = ["cease_contact", "bankruptcy", "deceased", "legal_representation"]
START = datetime(2025, 1, 1, tzinfo=UTC)


@st.composite
def rules(draw: st.DrawFn) -> GuardRules:
    def channel(bound: bool) -> ChannelRules:
        hours = None
        if bound:
            start = draw(st.integers(6, 12))
            end = draw(st.integers(start + 1, 23))
            hours = Hours(time(start), time(end))
        return ChannelRules(hours, draw(st.none() | st.integers(0, 3)), draw(st.none() | st.integers(0, 8)))

    calendar = ContactCalendar(
        excluded_weekdays=frozenset(draw(st.sets(st.integers(0, 6), max_size=2))),
        country=draw(st.sampled_from(["CN", "US", None])),
    )
    return GuardRules(
        channels={"sms": channel(True), "email": channel(True), "call_task": channel(True), "letter": channel(False)},
        calendar=calendar,
        after_conversation=timedelta(hours=draw(st.integers(0, 72))),
        third_party_per_week=draw(st.integers(0, 2)),
        third_party_total=draw(st.integers(0, 4)),
        max_defer=timedelta(days=draw(st.integers(0, 7))),
    )


moments = st.integers(0, 2 * 365 * 24 * 60).map(lambda m: START + timedelta(minutes=m))


@st.composite
def standings(draw: st.DrawFn, now: datetime) -> Standing:
    past = st.integers(1, 10 * 24 * 60).map(lambda m: now - timedelta(minutes=m))
    return Standing(
        timezone=draw(st.sampled_from(ZONES)),
        flags=dict.fromkeys(draw(st.sets(st.sampled_from(FLAGS), max_size=1)), "")
        if draw(st.integers(0, 4)) == 0
        else {},
        opted_out=dict.fromkeys(draw(st.sets(st.sampled_from(CHANNELS), max_size=2)), "STOP"),
        disputed_loans=frozenset(draw(st.sets(st.sampled_from(["LN1", "LN2", "LN3"]), max_size=1))),
        last_conversation=draw(st.none() | past),
        contacts={c: tuple(sorted(draw(st.lists(past, max_size=6)))) for c in CHANNELS},
        third_party_contacts=tuple(sorted(draw(st.lists(past, max_size=3)))),
    )


@st.composite
def contacts(draw: st.DrawFn) -> Contact:
    third = draw(st.booleans())
    return Contact(
        key="k",
        channel="sms" if third else draw(st.sampled_from(CHANNELS)),
        loans=frozenset(draw(st.sets(st.sampled_from(["LN1", "LN2", "LN3"]), min_size=1, max_size=2))),
        reachable=draw(st.booleans()),
        consent=draw(st.booleans()),
        third_party=7 if third else None,
        third_party_safe=draw(st.booleans()),
    )


def allowed_moment(c: Contact, s: Standing, r: GuardRules, moment: datetime) -> bool:
    hours = r.channel(c.channel).hours
    if hours is None:
        return True
    local = moment.astimezone(ZoneInfo(s.timezone))
    return hours.contains(local.time()) and r.calendar.is_contact_day(local.date())


def assert_lawful(c: Contact, s: Standing, r: GuardRules, now: datetime, verdict: str, when: datetime) -> None:
    assert not (r.stop_flags & set(s.flags))
    assert not (c.loans & s.disputed_loans)
    assert c.reachable and c.consent
    assert allowed_moment(c, s, r, when)
    zone = ZoneInfo(s.timezone)
    if c.third_party is not None:
        assert c.third_party_safe
        assert len(s.third_party_contacts) < r.third_party_total
        assert sum(1 for m in s.third_party_contacts if when - timedelta(days=7) < m <= when) < r.third_party_per_week
        return
    assert c.channel not in s.opted_out
    ch = r.channel(c.channel)
    made = s.contacts.get(c.channel, ())
    if ch.per_day is not None:
        assert sum(1 for m in made if m.astimezone(zone).date() == when.astimezone(zone).date()) < ch.per_day
    if ch.per_week is not None:
        assert sum(1 for m in made if when - timedelta(days=7) < m <= when) < ch.per_week
    if ch.hours is not None and s.last_conversation is not None:
        assert when >= s.last_conversation + r.after_conversation


@settings(max_examples=400, deadline=None)
@given(data=st.data(), r=rules(), now=moments, c=contacts())
def test_no_allowed_or_deferred_contact_breaks_a_rule(data: st.DataObject, r: GuardRules, now: datetime, c: Contact):
    s = data.draw(standings(now))
    d = decide(c, s, r, now)
    if d.verdict == SUPPRESS:
        assert d.at is None and d.rule
        return
    assert d.at is not None
    if d.verdict == ALLOW:
        assert d.at == now
    else:
        assert d.verdict == DEFER and now < d.at <= now + r.max_defer
    assert_lawful(c, s, r, now, d.verdict, d.at)


@settings(max_examples=400, deadline=None)
@given(r=rules(), zone=st.sampled_from(ZONES), start=moments, data=st.data())
def test_a_stream_of_contacts_never_exceeds_the_caps_in_any_day_or_week(
    r: GuardRules, zone: str, start: datetime, data: st.DataObject
):
    s = Standing(timezone=zone)
    steps = data.draw(st.lists(st.tuples(st.integers(0, 36 * 60), st.sampled_from(CHANNELS)), max_size=40))
    now = start
    allowed: dict[str, list[datetime]] = {}
    for minutes, channel in steps:
        now += timedelta(minutes=minutes)
        c = Contact("k", channel, frozenset({"LN1"}))
        d = decide(c, s, r, now)
        s = record(s, c, d)
        if d.at is not None:
            allowed.setdefault(channel, []).append(d.at)
    tz = ZoneInfo(zone)
    for channel, made in allowed.items():
        ch = r.channel(channel)
        made.sort()
        for m in made:
            if ch.per_day is not None:
                assert sum(1 for x in made if x.astimezone(tz).date() == m.astimezone(tz).date()) <= ch.per_day
            if ch.per_week is not None:
                assert sum(1 for x in made if m - timedelta(days=7) < x <= m) <= ch.per_week
