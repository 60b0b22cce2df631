"""The guard: one function decides, for each planned contact, allow, defer or suppress (pure).

The order of the rules is the order of their force:

1. stop flags of the borrower (cease-contact request, bankruptcy, deceased, legal
   representation: the lawyer is contacted, not the borrower), an open dispute on a loan the
   contact is about, an opt-out of the channel, no consent, nothing to reach them at -> suppress;
2. a third party (emergency contact, employer) only with the recorded consent of that person,
   only with a template marked third-party-safe (no debt details), at most ``per_week`` and
   ``total`` times per person -> otherwise suppress;
3. time: the borrower's own allowed hours for the channel, on a contact day (no public holiday,
   no excluded weekday unless made a working day), not within the gap after a conversation
   -> defer to the next allowed moment (suppressed if that is more than ``max_defer`` away);
4. frequency caps per borrower (a person, whatever the number of loans) per channel, per local
   day and per rolling 7 days, counted at the moment the contact would be made -> suppress.

Both the plan-time guard (the daily run) and the send-time guard (each dispatch, with the real
clock) call :func:`decide`; a message planned at 20:59 but dispatched at 21:01 is deferred.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from arrears.guard.calendar import ContactCalendar, Hours, next_allowed

ALLOW, DEFER, SUPPRESS = "allow", "defer", "suppress"
STOP_FLAGS = ("cease_contact", "bankruptcy", "deceased", "legal_representation")
CONVERSATION_CHANNELS = frozenset({"sms", "email", "call_task"})
WEEK = timedelta(days=7)


@dataclass(frozen=True, slots=True)
class ChannelRules:
    hours: Hours | None = None  # None: not time-bound (letters are printed and posted)
    per_day: int | None = None
    per_week: int | None = None


@dataclass(frozen=True)
class GuardRules:
    channels: Mapping[str, ChannelRules]
    calendar: ContactCalendar = field(default_factory=ContactCalendar)
    after_conversation: timedelta = timedelta(hours=48)
    stop_flags: frozenset[str] = frozenset(STOP_FLAGS)
    third_party_per_week: int = 1  # per borrower: all of their third parties together
    third_party_total: int = 3
    max_defer: timedelta = timedelta(days=3)

    def channel(self, name: str) -> ChannelRules:
        return self.channels.get(name, ChannelRules())


@dataclass(frozen=True, slots=True)
class Contact:
    """A planned contact as the guard sees it."""

    key: str
    channel: str  # sms | email | letter | call_task
    loans: frozenset[str]  # loan numbers the contact is about
    reachable: bool = True  # a phone / email / address to use
    consent: bool = True  # the borrower's channel consent, or a third party's recorded consent
    third_party: int | None = None  # the contact person's id when not the borrower
    third_party_safe: bool = False  # the template carries no debt details


@dataclass(frozen=True)
class Standing:
    """What is known of the borrower when deciding."""

    timezone: str
    flags: Mapping[str, str] = field(default_factory=dict)  # stop flag -> note
    opted_out: Mapping[str, str] = field(default_factory=dict)  # channel -> reason
    disputed_loans: frozenset[str] = frozenset()  # loan numbers with an open dispute
    last_conversation: datetime | None = None
    contacts: Mapping[str, Sequence[datetime]] = field(default_factory=dict)  # channel -> moments made or due
    third_party_contacts: Sequence[datetime] = ()  # moments any third party was contacted about the borrower


@dataclass(frozen=True, slots=True)
class Decision:
    verdict: str  # allow | defer | suppress
    rule: str  # the rule that decided ("allowed" when none objected)
    detail: str  # the values behind it, for `arrears why`
    at: datetime | None  # allow: the moment; defer: the next allowed moment; suppress: None

    @property
    def reason(self) -> str:
        return f"{self.rule}: {self.detail}"


def _suppress(rule: str, detail: str) -> Decision:
    return Decision(SUPPRESS, rule, detail, None)


def _stop(c: Contact, s: Standing, rules: GuardRules) -> Decision | None:
    for flag in STOP_FLAGS:
        if flag in rules.stop_flags and flag in s.flags:
            note = s.flags[flag]
            if flag == "legal_representation":
                return _suppress(
                    flag,
                    f"represented by counsel, contact the lawyer ({note})"
                    if note
                    else "represented by counsel: contact the lawyer, not the borrower",
                )
            return _suppress(flag, f"{flag.replace('_', ' ')} recorded" + (f" ({note})" if note else ""))
    disputed = sorted(c.loans & s.disputed_loans)
    if disputed:
        return _suppress("dispute_open", f"open dispute on {', '.join(disputed)}")
    if c.third_party is not None:
        return _third_party(c, s, rules)
    if c.channel in s.opted_out:
        return _suppress("opted_out", f"{c.channel} opt-out ({s.opted_out[c.channel]})")
    if not c.reachable:
        return _suppress("no_address", f"no {c.channel} address on file")
    if not c.consent:
        return _suppress("no_consent", f"no {c.channel} consent recorded")
    return None


def _third_party(c: Contact, s: Standing, rules: GuardRules) -> Decision | None:
    if not c.reachable:
        return _suppress("third_party_consent", "no third party on file")
    if not c.consent:
        return _suppress("third_party_consent", "no third party has recorded consent")
    if not c.third_party_safe:
        return _suppress("third_party_template", "template is not marked third-party-safe")
    made = s.third_party_contacts
    if len(made) >= rules.third_party_total:
        return _suppress("third_party_cap", f"{len(made)} third-party contacts so far, cap {rules.third_party_total}")
    return None


def _when(c: Contact, s: Standing, rules: GuardRules, now: datetime) -> tuple[datetime, str, str]:
    """The earliest allowed moment from ``now``, and the rule that moved it (if any)."""
    ch = rules.channel(c.channel)
    if ch.hours is None:
        return now, "", ""
    zone = ZoneInfo(s.timezone)
    start, rule, detail = now, "", ""
    if c.third_party is None and c.channel in CONVERSATION_CHANNELS and s.last_conversation is not None:
        quiet_until = s.last_conversation + rules.after_conversation
        if quiet_until > now:
            start, rule = quiet_until, "conversation_gap"
            detail = f"spoke with the borrower at {s.last_conversation.astimezone(zone):%Y-%m-%d %H:%M %Z}"
    when = next_allowed(start, zone, ch.hours, rules.calendar)
    if when != start and not rule:
        local = start.astimezone(zone)
        rest = rules.calendar.rest_reason(local.date())
        if rest:
            rule, detail = "rest_day", f"{local:%Y-%m-%d} is a {rest} in {s.timezone}"
        else:
            rule, detail = "hours", f"{local:%H:%M} {s.timezone} is outside {c.channel} hours {ch.hours}"
    return when, rule, detail


def week_peak(made: Sequence[datetime], when: datetime) -> int:
    """The most contacts in any rolling 7-day window that would also hold ``when`` (deferred
    contacts may already sit after it)."""
    ends = [when, *(m for m in made if when <= m < when + WEEK)]
    return max(sum(1 for x in made if end - WEEK < x <= end) for end in ends)


def _over_cap(c: Contact, s: Standing, rules: GuardRules, when: datetime) -> Decision | None:
    ch = rules.channel(c.channel)
    zone = ZoneInfo(s.timezone)
    if c.third_party is not None:
        week = week_peak(s.third_party_contacts, when)
        if week >= rules.third_party_per_week:
            return _suppress(
                "third_party_cap", f"{week} third-party contacts in 7 days, cap {rules.third_party_per_week}"
            )
        return None
    made = s.contacts.get(c.channel, ())
    day = when.astimezone(zone).date()
    if ch.per_day is not None:
        today = sum(1 for m in made if m.astimezone(zone).date() == day)
        if today >= ch.per_day:
            return _suppress("cap_day", f"{today} {c.channel} on {day} ({s.timezone}), cap {ch.per_day} per day")
    if ch.per_week is not None:
        week = week_peak(made, when)
        if week >= ch.per_week:
            return _suppress("cap_week", f"{week} {c.channel} in the 7 days to {day}, cap {ch.per_week}")
    return None


def decide(contact: Contact, standing: Standing, rules: GuardRules, now: datetime) -> Decision:
    """Allow now, defer to the next allowed moment, or suppress with the rule and its values."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    stopped = _stop(contact, standing, rules)
    if stopped:
        return stopped
    when, rule, detail = _when(contact, standing, rules, now)
    if when - now > rules.max_defer:
        return _suppress(
            "defer_too_long", f"{detail}; next allowed {when.isoformat()} is over {rules.max_defer.days} days away"
        )
    capped = _over_cap(contact, standing, rules, when)
    if capped:
        return capped
    if when == now:
        return Decision(ALLOW, "allowed", "no rule objected", now)
    return Decision(DEFER, rule, f"{detail}; next allowed {when.isoformat()}", when)


def record(standing: Standing, contact: Contact, decision: Decision) -> Standing:
    """The standing after an allowed or deferred contact: it counts toward the caps."""
    if decision.at is None:
        return standing
    if contact.third_party is not None:
        tp = (*standing.third_party_contacts, decision.at)
        return Standing(**{**standing.__dict__, "third_party_contacts": tp})
    made = dict(standing.contacts)
    made[contact.channel] = (*made.get(contact.channel, ()), decision.at)
    return Standing(**{**standing.__dict__, "contacts": made})
