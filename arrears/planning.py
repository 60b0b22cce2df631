"""Turn a day's positions into planned actions with deterministic keys.

A key names who, what, which channel and which day, e.g.
``loan:LN000123:m1_gentle_sms:sms:2026-11-23`` or
``borrower:B0042:pre_due_reminder:sms:2026-11-23``. Keys are unique in the
database, so planning the same day twice plans nothing new.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from arrears.engine.stages import days_in_stage
from arrears.policy import ActionSpec, Policy


@dataclass(frozen=True, slots=True)
class PositionView:
    """What planning needs to know of a loan's position."""

    loan_id: int
    loan_no: str
    borrower_id: str
    stage: str
    risk: str
    dpd: int
    next_due_date: date | None
    overdue_total: Decimal


@dataclass(frozen=True, slots=True)
class PlannedAction:
    key: str
    as_of: date
    scope: str  # "loan" | "borrower"
    borrower_id: str
    loan_id: int  # the loan the action is about (for borrower scope: the worst of them)
    loan_nos: tuple[str, ...]  # every loan the action covers
    stage: str
    risk: str
    action: str
    channel: str
    template: str
    tone: str


def action_key(scope: str, ref: str, action: str, channel: str, as_of: date) -> str:
    return f"{scope}:{ref}:{action}:{channel}:{as_of.isoformat()}"


def plan_actions(positions: Iterable[PositionView], policy: Policy, as_of: date) -> list[PlannedAction]:
    """Actions the policy calls for on ``as_of``, one per key, in key order.

    A borrower-scoped action covers all of the borrower's loans it fires for and
    is attached to the worst of them (highest DPD, then overdue total, then loan_no).
    """
    rules = policy.stage_rules
    by_key: dict[str, list[tuple[PositionView, ActionSpec]]] = {}
    for pos in positions:
        day = days_in_stage(pos.stage, pos.dpd, pos.next_due_date, as_of, rules)
        if day is None:
            continue
        for spec in policy.actions_for(pos.stage, pos.risk):
            if not spec.fires_on(day):
                continue
            ref = pos.borrower_id if spec.per == "borrower" else pos.loan_no
            key = action_key(spec.per, ref, spec.action, spec.channel, as_of)
            by_key.setdefault(key, []).append((pos, spec))
    planned = []
    for key in sorted(by_key):
        items = by_key[key]
        worst, spec = max(items, key=lambda it: (it[0].dpd, it[0].overdue_total, it[0].loan_no))
        planned.append(
            PlannedAction(
                key=key,
                as_of=as_of,
                scope=spec.per,
                borrower_id=worst.borrower_id,
                loan_id=worst.loan_id,
                loan_nos=tuple(sorted(p.loan_no for p, _ in items)),
                stage=worst.stage,
                risk=worst.risk,
                action=spec.action,
                channel=spec.channel,
                template=spec.template,
                tone=spec.tone,
            )
        )
    return planned
