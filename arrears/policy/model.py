"""The strategy policy: a YAML file mapping stage x risk to actions, with the sections that
configure the engine, the guard, letters, promises and escalation.

Loaded once at the edge and validated strictly: a bad policy fails at load with
the key path and the reason (``strategy.M1.high[0].channel: ...``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import date
from functools import cached_property
from pathlib import Path
from typing import Literal

import yaml
from pydantic import ValidationError, model_validator

from arrears.engine.risk import RiskRules
from arrears.engine.stages import PRE_DUE, Bucket, StageRules
from arrears.guard import GuardRules
from arrears.policy.experiments import ExperimentSpec, Strategy, overlapping
from arrears.policy.guard import GuardSpec
from arrears.policy.sections import (
    ActionSpec,
    DisputesSpec,
    EscalationSpec,
    LettersSpec,
    MessagesSpec,
    ProductSpec,
    PromisesSpec,
    ProvidersSpec,
    RetentionSpec,
    RiskKey,
    RiskSpec,
    StagesSpec,
    Strict,
    per_currency,
)

DEFAULT_POLICY_PATH = Path(__file__).with_name("default_policy.yaml")


class PolicyError(ValueError):
    """A policy file that cannot be used; the message names the key path."""




class Policy(Strict):
    version: Literal[1]
    stages: StagesSpec
    risk: RiskSpec
    products: dict[str, ProductSpec] = {"default": ProductSpec()}
    strategy: dict[str, dict[RiskKey, list[ActionSpec]]]
    messages: MessagesSpec = MessagesSpec()
    letters: LettersSpec = LettersSpec()
    promises: PromisesSpec = PromisesSpec()
    disputes: DisputesSpec = DisputesSpec()
    escalation: EscalationSpec = EscalationSpec()
    guard: GuardSpec = GuardSpec()
    retention: RetentionSpec = RetentionSpec()
    providers: ProvidersSpec = ProvidersSpec()
    experiments: list[ExperimentSpec] = []

    @model_validator(mode="after")
    def _strategy_names_stages(self) -> Policy:
        known = {PRE_DUE, *(b.name for b in self.stages.buckets)}
        _check_strategy("strategy", self.strategy, known)
        for i, exp in enumerate(self.experiments):
            for j, arm in enumerate(exp.arms):
                if arm.strategy is not None:
                    merged = exp.strategy_of(arm.name, self.strategy)
                    _check_strategy(f"experiments[{i}].arms[{j}].strategy", merged, known)
        clash = overlapping(self.experiments)
        if clash:
            raise ValueError(f"experiments: {clash}")
        if len({e.name for e in self.experiments}) != len(self.experiments):
            raise ValueError("experiments: names must be unique")
        for i, rule in enumerate(self.escalation.rules):
            for stage in rule.stages or ():
                if stage not in known:
                    raise ValueError(f"escalation.rules[{i}].stages: unknown stage {stage!r}")
        if "default" not in self.products:
            raise ValueError("products.default: required")
        return self

    @cached_property
    def stage_rules(self) -> StageRules:
        buckets = tuple(Bucket(b.name, b.min_dpd, b.max_dpd) for b in self.stages.buckets)
        return StageRules(self.stages.pre_due_days, buckets)

    @cached_property
    def guard_rules(self) -> GuardRules:
        return self.guard.rules()

    def risk_rules(self, currency: str) -> RiskRules:
        """The risk tables for a loan in ``currency`` (amount thresholds are per currency)."""
        rules = self._risk_rules.get(currency)
        if rules is None:
            r = self.risk
            rules = self._risk_rules[currency] = RiskRules(
                dpd=tuple(r.dpd),
                overdue_total=tuple(per_currency(r.overdue_total, currency)),
                times_late=tuple(r.times_late),
                broken_promises=tuple(r.broken_promises),
                secured_credit=r.secured_credit,
                medium_at=r.medium_at,
                high_at=r.high_at,
            )
        return rules

    @cached_property
    def _risk_rules(self) -> dict[str, RiskRules]:
        return {}

    def product(self, name: str) -> ProductSpec:
        return self.products.get(name, self.products["default"])

    def waterfall(self, product: str) -> tuple[str, ...]:
        """The product's payment waterfall (what the engine needs of a product)."""
        return self.product(product).waterfall

    def all_actions(self) -> Iterator[ActionSpec]:
        """Every action of the strategy and of every experiment's arms, in every stage and risk list."""
        strategies = [self.strategy] + [a.strategy for e in self.experiments for a in e.arms if a.strategy]
        for strategy in strategies:
            for by_risk in strategy.values():
                for actions in by_risk.values():
                    yield from actions

    @cached_property
    def fingerprint(self) -> str:
        """A hash of everything the policy says: positions computed under another policy are not reused."""
        return hashlib.sha256(self.model_dump_json().encode()).hexdigest()

    def experiment_on(self, day: date) -> ExperimentSpec | None:
        """The experiment the policy runs on ``day`` (one at a time), if any."""
        return next((e for e in self.experiments if e.running_on(day)), None)

    def arm_strategy(self, experiment: str, arm: str) -> Strategy:
        """An arm's full strategy (the champion's with the arm's lists in place), built once."""
        key = f"{experiment}/{arm}"
        if key not in self._arm_strategies:
            exp = next(e for e in self.experiments if e.name == experiment)
            self._arm_strategies[key] = exp.strategy_of(arm, self.strategy)
        return self._arm_strategies[key]

    @cached_property
    def _arm_strategies(self) -> dict[str, Strategy]:
        return {}

    def message_templates(self) -> set[tuple[str, str]]:
        """(channel, template) pairs the strategy and the promise reminders send as SMS or email."""
        sent = {(a.channel, a.template) for a in self.all_actions() if a.channel in ("sms", "email")}
        return sent | {(r.channel, r.template) for r in self.promises.reminders}

    def third_party_templates(self) -> set[str]:
        """SMS templates the strategy sends to third parties (each must be marked third-party-safe)."""
        return {a.template for a in self.all_actions() if a.to == "third_party"}

    def letter_templates(self) -> set[str]:
        """Templates the strategy renders as PDF letters."""
        return {a.template for a in self.all_actions() if a.channel == "letter"}

    def call_templates(self) -> set[str]:
        """Talking-point templates of the strategy's call tasks."""
        return {a.template for a in self.all_actions() if a.channel == "call_task"}

    def attachments(self) -> dict[str, str]:
        """Email action -> the letter action it carries (``attach_to``)."""
        return {a.attach_to: a.action for a in self.all_actions() if a.attach_to}

    def actions_for(self, stage: str, risk: str, strategy: Strategy | None = None) -> list[ActionSpec]:
        """Risk-specific actions replace the stage's ``any`` list (of an arm's ``strategy`` if given)."""
        by_risk = (self.strategy if strategy is None else strategy).get(stage, {})
        return by_risk.get(risk) or by_risk.get("any") or []  # type: ignore[call-overload]


def _check_strategy(where: str, strategy: Strategy, known: set[str]) -> None:
    for stage, by_risk in strategy.items():
        if stage not in known:
            raise ValueError(f"{where}.{stage}: unknown stage (known: {', '.join(sorted(known))})")
        for risk, actions in by_risk.items():
            seen: set[str] = set()
            for i, a in enumerate(actions):
                if a.action in seen:
                    raise ValueError(f"{where}.{stage}.{risk}[{i}].action: {a.action!r} repeated")
                seen.add(a.action)
            for i, a in enumerate(actions):
                if a.attach_to is None:
                    continue
                carrier = next((c for c in actions if c.action == a.attach_to), None)
                if carrier is None or carrier.channel != "email" or carrier.per != a.per:
                    raise ValueError(
                        f"{where}.{stage}.{risk}[{i}].attach_to: {a.attach_to!r} is not an email action "
                        f"of the same list with per: {a.per}"
                    )


def _format(err: ValidationError) -> str:
    lines = []
    for e in err.errors():
        path = ""
        for part in e["loc"]:
            path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
        msg = e["msg"].removeprefix("Value error, ")
        lines.append(f"{path}: {msg}" if path else msg)
    return "; ".join(lines)


def parse_policy(data: object, source: str = "<policy>") -> Policy:
    try:
        return Policy.model_validate(data)
    except ValidationError as err:
        raise PolicyError(f"{source}: {_format(err)}") from None


def load_policy(path: Path | str | None = None) -> Policy:
    path = Path(path) if path else DEFAULT_POLICY_PATH
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as err:
        raise PolicyError(f"{path}: cannot read policy ({err.strerror})") from None
    except yaml.YAMLError as err:
        raise PolicyError(f"{path}: not valid YAML ({err})") from None
    return parse_policy(data, str(path))
