"""The strategy policy: a YAML file mapping stage x risk to actions.

Loaded once at the edge and validated strictly: a bad policy fails at load with
the key path and the reason (``strategy.M1.high[0].channel: ...``).
"""

from __future__ import annotations

from datetime import time, timedelta
from decimal import Decimal
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from arrears.engine.ledger import COMPONENTS, DEFAULT_WATERFALL
from arrears.engine.risk import RiskRules
from arrears.engine.stages import CURRENT, PRE_DUE, Bucket, StageRules

if TYPE_CHECKING:
    from arrears.guard import GuardRules

DEFAULT_POLICY_PATH = Path(__file__).with_name("default_policy.yaml")
CHANNELS = ("sms", "email", "letter", "call_task", "legal")


class PolicyError(ValueError):
    """A policy file that cannot be used; the message names the key path."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class BucketSpec(_Strict):
    name: str = Field(min_length=1)
    min_dpd: int = Field(ge=1)
    max_dpd: int | None = None


class StagesSpec(_Strict):
    pre_due_days: int = Field(default=3, ge=0, le=31)
    buckets: list[BucketSpec]

    @model_validator(mode="after")
    def _contiguous(self) -> StagesSpec:
        expected = 1
        names: set[str] = set()
        for i, b in enumerate(self.buckets):
            if b.name in (PRE_DUE, CURRENT) or b.name in names:
                raise ValueError(f"buckets[{i}].name: {b.name!r} is reserved or repeated")
            names.add(b.name)
            if b.min_dpd != expected:
                raise ValueError(f"buckets[{i}].min_dpd: expected {expected} (buckets must be contiguous from 1)")
            last = i == len(self.buckets) - 1
            if last != (b.max_dpd is None):
                raise ValueError(f"buckets[{i}].max_dpd: only the last bucket is open-ended")
            if b.max_dpd is not None:
                if b.max_dpd < b.min_dpd:
                    raise ValueError(f"buckets[{i}].max_dpd: below min_dpd")
                expected = b.max_dpd + 1
        if not self.buckets:
            raise ValueError("buckets: at least one bucket is required")
        return self


class RiskSpec(_Strict):
    dpd: list[tuple[Decimal, int]]
    overdue_total: list[tuple[Decimal, int]]
    times_late: list[tuple[Decimal, int]]
    broken_promises: list[tuple[Decimal, int]] = []
    secured_credit: int = Field(default=1, ge=0)
    medium_at: int
    high_at: int

    @model_validator(mode="after")
    def _ordered(self) -> RiskSpec:
        if self.high_at <= self.medium_at:
            raise ValueError("high_at: must be greater than medium_at")
        return self


class ProductSpec(_Strict):
    waterfall: tuple[str, ...] = DEFAULT_WATERFALL
    # after the lawyer's letter, where the claim goes: the contract's dispute-resolution clause
    legal_track: Literal["arbitration", "litigation"] = "litigation"
    # the contract clause a demand letter rests on, per locale (zh_CN, en_US)
    clause: dict[str, str] = {}

    def clause_for(self, locale: str) -> str:
        return self.clause.get(locale, "")

    @field_validator("waterfall")
    @classmethod
    def _is_permutation(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        if sorted(v) != sorted(COMPONENTS):
            raise ValueError(f"must list each of {', '.join(COMPONENTS)} exactly once")
        return v


class ActionSpec(_Strict):
    action: str = Field(min_length=1, pattern=r"^[a-z0-9_]+$")
    channel: Literal["sms", "email", "letter", "call_task", "legal"]
    template: str = Field(min_length=1)
    tone: Literal["friendly", "gentle", "firm", "final", "formal"]
    per: Literal["loan", "borrower"] = "loan"
    start_day: int = Field(default=0, ge=0)
    every_days: int | None = Field(default=None, ge=1)
    # letters only: the email action of the same stage and risk that carries this letter as a
    # PDF attachment when both fall on the same day (and the borrower consented to email)
    attach_to: str | None = Field(default=None, pattern=r"^[a-z0-9_]+$")
    # who is contacted: the borrower, or (SMS only) the borrower's consenting emergency contact
    # with a template marked third-party-safe (no debt details; checked at load)
    to: Literal["borrower", "third_party"] = "borrower"

    @model_validator(mode="after")
    def _attach_only_letters(self) -> ActionSpec:
        if self.attach_to is not None and self.channel != "letter":
            raise ValueError("attach_to: only a letter can be attached to an email")
        if self.to == "third_party" and (self.channel != "sms" or self.per != "loan"):
            raise ValueError("to: third_party contacts are SMS with per: loan")
        return self

    def fires_on(self, day_in_stage: int) -> bool:
        if day_in_stage < self.start_day:
            return False
        if self.every_days is None:
            return day_in_stage == self.start_day
        return (day_in_stage - self.start_day) % self.every_days == 0


class MessagesSpec(_Strict):
    deadline_days: int = Field(default=7, ge=0, le=60)
    sms_max_segments: int = Field(default=3, ge=1, le=10)
    stale_after_days: int = Field(default=1, ge=0, le=30)
    preview_mask: bool = True


class LettersSpec(_Strict):
    deadline_days: int = Field(default=15, ge=1, le=90)  # "pay by": letter date + 15 days
    dispute_days: int = Field(default=15, ge=1, le=90)  # how long the borrower has to dispute in writing


class ReminderSpec(_Strict):
    action: str = Field(min_length=1, pattern=r"^[a-z0-9_]+$")
    channel: Literal["sms", "email"]
    template: str = Field(min_length=1)
    tone: Literal["friendly", "gentle", "firm"] = "friendly"


class PromisesSpec(_Strict):
    reminder_days_before: int = Field(default=1, ge=0, le=14)  # reminder on promised date - N days
    reminders: list[ReminderSpec] = []
    hold_ladder: bool = True  # while a promise is open the stage ladder pauses (its reminder still goes)
    partial_counts_as_broken: bool = True  # for risk and escalation


class DisputesSpec(_Strict):
    reply_days: int = Field(default=15, ge=1, le=90)  # the lender answers a dispute within N days


class EscalationRule(_Strict):
    """Fires when every condition it names holds (rules are alternatives)."""

    name: str = Field(min_length=1, pattern=r"^[a-z0-9_]+$")
    min_dpd: int | None = Field(default=None, ge=1)
    broken_promises: int | None = Field(default=None, ge=1)
    min_overdue_total: Decimal | None = Field(default=None, gt=0)
    stages: list[str] | None = None

    @model_validator(mode="after")
    def _has_condition(self) -> EscalationRule:
        if self.min_dpd is None and self.broken_promises is None and self.min_overdue_total is None:
            raise ValueError("needs at least one of min_dpd, broken_promises, min_overdue_total")
        return self


LEGAL_STEPS = ("lawyers_letter", "arbitration", "litigation", "enforcement")


class EscalationSpec(_Strict):
    rules: list[EscalationRule] = []
    # days from escalation to each step's due date (the chain: lawyer's letter -> the product's
    # legal track -> enforcement)
    due_days: dict[str, int] = {
        "lawyers_letter": 10,
        "arbitration": 75,
        "litigation": 120,
        "enforcement": 240,
    }

    @field_validator("due_days")
    @classmethod
    def _every_step(cls, v: dict[str, int]) -> dict[str, int]:
        missing = [s for s in LEGAL_STEPS if s not in v]
        unknown = [s for s in v if s not in LEGAL_STEPS]
        if missing or unknown:
            raise ValueError(f"needs exactly {', '.join(LEGAL_STEPS)} (missing: {missing}, unknown: {unknown})")
        if any(days < 0 for days in v.values()):
            raise ValueError("days must not be negative")
        return v


WEEKDAY = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


def _clock(value: str) -> time:
    if value == "24:00":
        return time(0)
    try:
        return time.fromisoformat(value)
    except ValueError:
        raise ValueError(f"{value!r} is not a time HH:MM") from None


class ChannelGuardSpec(_Strict):
    hours: tuple[str, str] | None = None  # local [start, end), e.g. ["08:00", "21:00"]; none: any time
    per_day: int | None = Field(default=None, ge=0)  # per borrower, per local day
    per_week: int | None = Field(default=None, ge=0)  # per borrower, per rolling 7 days

    @field_validator("hours")
    @classmethod
    def _window(cls, v: tuple[str, str] | None) -> tuple[str, str] | None:
        if v is None:
            return v
        start, end = _clock(v[0]), _clock(v[1])
        if end != time(0) and end <= start:
            raise ValueError("the window must end after it starts (use 24:00 for midnight)")
        return v


class HolidaysSpec(_Strict):
    country: str = "CN"  # ISO code for the `holidays` package (its adjusted working days count as working)
    subdivision: str | None = None

    @model_validator(mode="after")
    def _known(self) -> HolidaysSpec:
        import holidays

        try:
            holidays.country_holidays(self.country, subdiv=self.subdivision)
        except NotImplementedError as err:
            raise ValueError(f"holidays: {err}") from None
        return self


class ThirdPartySpec(_Strict):
    per_week: int = Field(default=1, ge=0)  # per contact person
    total: int = Field(default=3, ge=0)  # per contact person, ever


GuardedChannel = Literal["sms", "email", "letter", "call_task"]


def _default_channels() -> dict[GuardedChannel, ChannelGuardSpec]:
    return {
        "sms": ChannelGuardSpec(hours=("08:00", "21:00"), per_day=2, per_week=6),
        "email": ChannelGuardSpec(hours=("08:00", "21:00"), per_day=2, per_week=7),
        "call_task": ChannelGuardSpec(hours=("08:00", "21:00"), per_day=1, per_week=4),
        "letter": ChannelGuardSpec(per_day=2, per_week=3),
    }


class GuardSpec(_Strict):
    channels: dict[GuardedChannel, ChannelGuardSpec] = Field(
        default_factory=_default_channels
    )
    excluded_weekdays: list[WEEKDAY] = []
    holidays: HolidaysSpec | None = HolidaysSpec()
    after_conversation_hours: int = Field(default=48, ge=0)
    max_defer_days: int = Field(default=3, ge=0, le=30)
    stop_flags: list[Literal["cease_contact", "bankruptcy", "deceased", "legal_representation"]] = [
        "cease_contact",
        "bankruptcy",
        "deceased",
        "legal_representation",
    ]
    third_party: ThirdPartySpec = ThirdPartySpec()
    forbidden_words: dict[str, list[str]] = {}  # locale -> words no template may contain

    def rules(self) -> GuardRules:
        from arrears.guard import ChannelRules, ContactCalendar, GuardRules, Hours
        from arrears.guard.calendar import WEEKDAYS

        merged: dict[GuardedChannel, ChannelGuardSpec] = {**_default_channels(), **self.channels}
        channels: dict[str, ChannelRules] = {
            name: ChannelRules(
                hours=Hours(_clock(c.hours[0]), _clock(c.hours[1])) if c.hours else None,
                per_day=c.per_day,
                per_week=c.per_week,
            )
            for name, c in merged.items()
        }
        calendar = ContactCalendar(
            excluded_weekdays=frozenset(WEEKDAYS.index(d) for d in self.excluded_weekdays),
            country=self.holidays.country if self.holidays else None,
            subdivision=self.holidays.subdivision if self.holidays else None,
        )
        return GuardRules(
            channels=channels,
            calendar=calendar,
            after_conversation=timedelta(hours=self.after_conversation_hours),
            stop_flags=frozenset(self.stop_flags),
            third_party_per_week=self.third_party.per_week,
            third_party_total=self.third_party.total,
            max_defer=timedelta(days=self.max_defer_days),
        )


class RetentionSpec(_Strict):
    # personal data of borrowers whose cases closed (and loans ended) over N days ago is
    # anonymised by `arrears retention --apply`; aggregates stay
    days: int = Field(default=1825, ge=30)


RiskKey = Literal["any", "low", "medium", "high"]


class Policy(_Strict):
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

    @model_validator(mode="after")
    def _strategy_names_stages(self) -> Policy:
        known = {PRE_DUE, *(b.name for b in self.stages.buckets)}
        for stage, by_risk in self.strategy.items():
            if stage not in known:
                raise ValueError(f"strategy.{stage}: unknown stage (known: {', '.join(sorted(known))})")
            for risk, actions in by_risk.items():
                seen: set[str] = set()
                for i, a in enumerate(actions):
                    if a.action in seen:
                        raise ValueError(f"strategy.{stage}.{risk}[{i}].action: {a.action!r} repeated")
                    seen.add(a.action)
                for i, a in enumerate(actions):
                    if a.attach_to is None:
                        continue
                    carrier = next((c for c in actions if c.action == a.attach_to), None)
                    if carrier is None or carrier.channel != "email" or carrier.per != a.per:
                        raise ValueError(
                            f"strategy.{stage}.{risk}[{i}].attach_to: {a.attach_to!r} is not an email action "
                            f"of the same list with per: {a.per}"
                        )
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

    @cached_property
    def risk_rules(self) -> RiskRules:
        r = self.risk
        return RiskRules(
            dpd=tuple(r.dpd),
            overdue_total=tuple(r.overdue_total),
            times_late=tuple(r.times_late),
            broken_promises=tuple(r.broken_promises),
            secured_credit=r.secured_credit,
            medium_at=r.medium_at,
            high_at=r.high_at,
        )

    def product(self, name: str) -> ProductSpec:
        return self.products.get(name, self.products["default"])

    def message_templates(self) -> set[tuple[str, str]]:
        """(channel, template) pairs the strategy and the promise reminders send as SMS or email."""
        return {
            (a.channel, a.template)
            for by_risk in self.strategy.values()
            for actions in by_risk.values()
            for a in actions
            if a.channel in ("sms", "email")
        } | {(r.channel, r.template) for r in self.promises.reminders}

    def third_party_templates(self) -> set[str]:
        """SMS templates the strategy sends to third parties (each must be marked third-party-safe)."""
        return {
            a.template
            for by_risk in self.strategy.values()
            for actions in by_risk.values()
            for a in actions
            if a.to == "third_party"
        }

    def letter_templates(self) -> set[str]:
        """Templates the strategy renders as PDF letters."""
        return {
            a.template
            for by_risk in self.strategy.values()
            for actions in by_risk.values()
            for a in actions
            if a.channel == "letter"
        }

    def call_templates(self) -> set[str]:
        """Talking-point templates of the strategy's call tasks."""
        return {
            a.template
            for by_risk in self.strategy.values()
            for actions in by_risk.values()
            for a in actions
            if a.channel == "call_task"
        }

    def attachments(self) -> dict[str, str]:
        """Email action -> the letter action it carries (``attach_to``)."""
        return {
            a.attach_to: a.action
            for by_risk in self.strategy.values()
            for actions in by_risk.values()
            for a in actions
            if a.attach_to
        }

    def actions_for(self, stage: str, risk: str) -> list[ActionSpec]:
        """Risk-specific actions replace the stage's ``any`` list."""
        by_risk = self.strategy.get(stage, {})
        return by_risk.get(risk) or by_risk.get("any") or []  # type: ignore[call-overload]


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
