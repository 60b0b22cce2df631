"""Turn a day's positions into planned actions with deterministic keys (``ActionKey``).

What the borrower said changes the plan:

* an open dispute holds every action on the loan: planned with status ``suppressed``,
  reason ``dispute_hold`` (recorded, never sent);
* an open promise to pay (made on or before the day, promised date not yet passed)
  pauses the stage ladder (``suppressed``, reason ``promise_open``) when the policy says
  ``promises.hold_ladder``; the promise's own reminders go out
  ``promises.reminder_days_before`` days before the promised date.

During a champion/challenger experiment (``Arms``) a loan's actions come from its arm's strategy
and a borrower-level action from the borrower's arm's; each action records the arm. The holds
above apply to every arm alike.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from arrears.engine.stages import days_in_stage
from arrears.planning.keys import ActionKey
from arrears.policy import ActionSpec, Policy
from arrears.policy.experiments import Strategy


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
    status: str = "planned"  # planned | suppressed (held: see reason)
    reason: str | None = None
    audience: str = "borrower"  # or third_party: the borrower's consenting emergency contact
    arm: str | None = None  # the experiment arm whose strategy planned it


@dataclass(frozen=True)
class Arms:
    """Whose strategy plans each loan and borrower on a day of an experiment: ``by_loan`` (loan
    number -> arm) for per-loan actions, ``by_borrower`` for per-borrower ones; ``strategies``: each
    arm's full strategy. ``record``: False once the experiment is stopped (the promoted strategy
    plans everyone, and nothing is counted for an arm any more)."""

    by_loan: Mapping[str, str]
    by_borrower: Mapping[str, str]
    strategies: Mapping[str, Strategy]
    record: bool = True

    def specs(self, policy: Policy, pos: PositionView) -> list[tuple[ActionSpec, str | None]]:
        loan_arm, borrower_arm = self.by_loan.get(pos.loan_no), self.by_borrower.get(pos.borrower_id)
        out = []
        for arm, per in ((loan_arm, "loan"), (borrower_arm, "borrower")):
            strategy = self.strategies.get(arm) if arm else None
            out += [(s, arm) for s in policy.actions_for(pos.stage, pos.risk, strategy) if s.per == per]
        return out


@dataclass(frozen=True, slots=True)
class PromiseView:
    """An open promise on a loan, as planning sees it."""

    loan_id: int
    made_on: date
    promised_on: date
    status: str = "open"  # kept early (paid in full before the date): no reminder, the ladder still waits


DISPUTE_HOLD = "dispute_hold"
PROMISE_OPEN = "promise_open"


def plan_actions(
    positions: Iterable[PositionView],
    policy: Policy,
    as_of: date,
    disputed: Iterable[int] = (),
    promises: Mapping[int, PromiseView] | None = None,
    arms: Arms | None = None,
) -> list[PlannedAction]:
    """Actions the policy calls for on ``as_of``, one per key, in key order.

    A borrower-scoped action covers all of the borrower's loans it fires for and
    is attached to the worst of them (highest DPD, then overdue total, then loan_no);
    it is held when any of those loans is disputed. ``disputed``: loan ids with a dispute
    open on ``as_of``; ``promises``: loan id -> its open promise; ``arms``: the experiment's.
    """
    rules = policy.stage_rules
    held = set(disputed)
    promises = promises or {}
    remind = policy.promises
    by_key: dict[str, list[tuple[PositionView, ActionSpec]]] = {}
    arm_of: dict[str, str | None] = {}
    for pos in positions:
        promise = promises.get(pos.loan_id)
        if promise is not None and promise.made_on <= as_of <= promise.promised_on:
            if promise.status == "open" and as_of == promise.promised_on - timedelta(days=remind.reminder_days_before):
                for r in remind.reminders:
                    spec = ActionSpec(action=r.action, channel=r.channel, template=r.template, tone=r.tone)
                    key = str(ActionKey("loan", pos.loan_no, r.action, r.channel, as_of))
                    by_key.setdefault(key, []).append((pos, spec))
                    arm_of[key] = arms.by_loan.get(pos.loan_no) if arms else None
        day = days_in_stage(pos.stage, pos.dpd, pos.next_due_date, as_of, rules)
        if day is None:
            continue
        specs = arms.specs(policy, pos) if arms else [(s, None) for s in policy.actions_for(pos.stage, pos.risk)]
        for spec, arm in specs:
            if not spec.fires_on(day):
                continue
            ref = pos.borrower_id if spec.per == "borrower" else pos.loan_no
            key = str(ActionKey(spec.per, ref, spec.action, spec.channel, as_of))
            by_key.setdefault(key, []).append((pos, spec))
            arm_of[key] = arm
    reminders = {r.action for r in remind.reminders}
    planned = []
    for key in sorted(by_key):
        items = by_key[key]
        worst, spec = max(items, key=lambda it: (it[0].dpd, it[0].overdue_total, it[0].loan_no))
        reason = None
        if any(p.loan_id in held for p, _ in items):
            reason = DISPUTE_HOLD
        elif remind.hold_ladder and spec.action not in reminders:
            for p, _ in items:
                pr = promises.get(p.loan_id)
                if pr is not None and pr.made_on <= as_of <= pr.promised_on:
                    reason = PROMISE_OPEN
                    break
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
                status="suppressed" if reason else "planned",
                reason=reason,
                audience=spec.to,
                arm=arm_of.get(key) if arms is not None and arms.record else None,
            )
        )
    return planned
