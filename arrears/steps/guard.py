"""The guard on the database: decide a day's planned contacts (plan time, the run's clock) and
screen queued messages again just before they go out (send time)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection

from arrears.faults import crash_point
from arrears.guard import DEFER, SUPPRESS, Contact, Decision, GuardRules, decide, record
from arrears.messaging.content_rules import is_third_party_safe
from arrears.runtime import Runtime
from arrears.store import guard as store
from arrears.store.guard import Reach


def contact_for(
    key: str, channel: str, audience: str, template: str, locale: str, loans: Iterable[str], reach: Reach
) -> Contact:
    """The contact as the guard sees it: who, on which channel, and whether they can be reached."""
    loans = frozenset(loans)
    if audience == "third_party":
        return Contact(
            key,
            channel,
            loans,
            reachable=reach.third_parties > 0,
            consent=reach.consenting is not None,
            third_party=reach.consenting or 0,
            third_party_safe=is_third_party_safe(channel, template, locale),
        )
    if channel == "sms":
        return Contact(key, channel, loans, reachable=bool(reach.phone), consent=reach.sms_consent)
    if channel == "email":
        return Contact(key, channel, loans, reachable=bool(reach.email), consent=reach.email_consent)
    if channel == "letter":  # a missing address fails the letter in production (retried once fixed)
        return Contact(key, channel, loans)
    return Contact(key, channel, loans, reachable=bool(reach.phone))


def held(action: Any) -> Decision:
    """A contact planning already held (open dispute, open promise): the hold is the decision."""
    return Decision(SUPPRESS, action.reason or "held", f"held by planning ({action.reason})", None)


def decide_day(rt: Runtime, as_of: date) -> dict[str, int]:
    """The day's guard at the run's clock: "verdict:rule" -> contacts newly decided."""
    with rt.engine.begin() as conn:
        counts = guard_day(conn, as_of, rt.policy.guard_rules, rt.clock.now())
    crash_point("guard.decided")
    return {f"{verdict}:{rule}": n for (verdict, rule), n in sorted(counts.items())}


def guard_day(conn: Connection, as_of: date, rules: GuardRules, now: datetime) -> Counter[tuple[str, str]]:
    """Decide every undecided contact of ``as_of`` at ``now``; returns (verdict, rule) -> count.

    Contacts are decided a borrower at a time, worst loan first, each allowed or deferred one
    counting toward the caps of the next — so a borrower with three loans is one person.
    """
    actions = store.undecided_actions(conn, as_of)
    if not actions:
        return Counter()
    reach = store.reach_of(conn, {a.borrower_id for a in actions})
    standing = store.standings(conn, reach, as_of, now, exclude=[a.key for a in actions])
    decided = []
    for a in actions:
        if a.status == "suppressed":
            decided.append((a, held(a)))
            continue
        contact = contact_for(
            a.key, a.channel, a.audience, a.template, a.locale, a.loan_nos.split(","), reach[a.borrower_id]
        )
        d = decide(contact, standing[a.borrower_id], rules, now)
        standing[a.borrower_id] = record(standing[a.borrower_id], contact, d)
        decided.append((a, d))
    store.record_plan_decisions(conn, as_of, decided, now)
    return Counter((d.verdict, d.rule) for _a, d in decided)


def screen(conn: Connection, rows: Sequence[Any], rules: GuardRules, now: datetime) -> dict[int, Decision]:
    """Send-time decisions for queued messages (id -> decision), a borrower at a time; deferred
    and suppressed ones are written (with the reason) and logged, allowed ones are left to send."""
    if not rows:
        return {}
    reach = store.reach_of(conn, {r.borrower_id for r in rows})
    planned = store.loans_of_keys(conn, [r.key for r in rows])
    today = max(r.as_of for r in rows)
    standing = store.standings(conn, reach, today, now, exclude=[r.key for r in rows])
    out: dict[int, Decision] = {}
    log = []
    for r in sorted(rows, key=lambda r: (r.borrower_id, r.id)):
        loan_nos, audience = planned.get(r.key, ("", "borrower"))
        contact = contact_for(
            r.key, r.channel, audience, r.template, r.locale, loan_nos.split(","), reach[r.borrower_id]
        )
        d = decide(contact, standing[r.borrower_id], rules, now)
        standing[r.borrower_id] = record(standing[r.borrower_id], contact, d)
        out[r.id] = d
        if d.verdict == SUPPRESS:
            store.suppress_message(conn, r.id, d.reason, now)
        elif d.verdict == DEFER and d.at is not None:
            store.defer_queued(conn, r.id, d.at, d.reason, now)
        elif r.not_before is None:
            continue  # allowed as at plan time: nothing new to record
        # else: deferred earlier and allowed now, recorded so the day's figures show it as allowed
        log.append((r.key, r.as_of, r.borrower_id, r.channel, "send", d))
    store.log_decisions(conn, log, now)
    return out
