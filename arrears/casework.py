"""The daily run's case steps as plain functions (engine in, summary out; no Prefect):
judge promises, follow cases, queue calls, escalate to legal."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import Engine

from arrears.cases.calls import assign_calls
from arrears.cases.escalation import legal_chain, legal_reference, rule_fired
from arrears.policy import Policy
from arrears.settings import Settings
from arrears.store.borrower_says import judge_promises
from arrears.store.calls import calls_to_queue, insert_calls, queued_per_collector
from arrears.store.cases import CaseDay, track_cases
from arrears.store.legal import NewLegalCase, escalation_candidates, open_legal_cases


def judge_day_promises(engine: Engine, as_of: date, now: datetime) -> dict[str, int]:
    """Promises whose date has passed: kept, partly kept or broken (before classification,
    so a broken promise already weighs on today's risk grade)."""
    with engine.begin() as conn:
        return judge_promises(conn, as_of, now)


def track_day_cases(engine: Engine, as_of: date, now: datetime) -> CaseDay:
    with engine.begin() as conn:
        return track_cases(conn, as_of, now)


def queue_day_calls(engine: Engine, settings: Settings, as_of: date, now: datetime) -> dict[str, int]:
    """The day's planned calls become call tasks in each collector's queue; returns new calls per collector."""
    with engine.begin() as conn:
        candidates = calls_to_queue(conn, as_of)
        if not candidates:
            return {}
        queued = assign_calls(
            candidates,
            settings.collectors,
            settings.call_assignment,
            settings.collector_regions,
            queued_per_collector(conn, as_of),
        )
        insert_calls(conn, as_of, queued, now)
    out: dict[str, int] = {}
    for q in queued:
        out[q.collector] = out.get(q.collector, 0) + 1
    return out


@dataclass
class Escalated:
    references: list[str] = field(default_factory=list)
    by_rule: dict[str, int] = field(default_factory=dict)


def escalate_day(engine: Engine, policy: Policy, settings: Settings, as_of: date, now: datetime) -> Escalated:
    """Open a legal case (and its chain of tasks) for each loan an escalation rule, or the
    strategy's ``legal`` action, fires for. One legal case per collection case: running
    the day again opens nothing new."""
    out = Escalated()
    with engine.begin() as conn:
        views, planned = escalation_candidates(conn, as_of, policy.promises.partial_counts_as_broken)
        new = []
        for view in views:
            rule = rule_fired(view, policy.escalation) or planned.get(view.loan_id)
            if rule is None:
                continue
            track = policy.product(view.product).legal_track
            new.append(
                NewLegalCase(view, rule, track, legal_chain(as_of, track, policy.escalation, settings.legal_owners))
            )
        out.references = open_legal_cases(conn, new, as_of, now)
        made = set(out.references)
        for n in new:
            if legal_reference(n.view.loan_no, as_of) in made:
                out.by_rule[n.rule] = out.by_rule.get(n.rule, 0) + 1
    return out
