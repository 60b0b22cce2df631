"""The policy's sections (stages, risk, products, actions, messages, letters, promises,
disputes, escalation, retention), validated strictly: unknown keys are refused."""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from arrears.engine.ledger import COMPONENTS, DEFAULT_WATERFALL
from arrears.engine.stages import CURRENT, PRE_DUE

CHANNELS = ("sms", "email", "letter", "call_task", "legal")
RiskKey = Literal["any", "low", "medium", "high"]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class BucketSpec(Strict):
    name: str = Field(min_length=1)
    min_dpd: int = Field(ge=1)
    max_dpd: int | None = None


class StagesSpec(Strict):
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


PointsTable = list[tuple[Decimal, int]]


def _table(v: PointsTable) -> PointsTable:
    """A points table: (threshold, points) pairs, thresholds rising from zero up, points not negative."""
    thresholds = [t for t, _ in v]
    if any(t < 0 for t in thresholds) or any(p < 0 for _, p in v):
        raise ValueError("thresholds and points must not be negative")
    if thresholds != sorted(set(thresholds)):
        raise ValueError("thresholds must rise from one pair to the next")
    return v


def per_currency(value: Any, currency: str) -> Any:
    """A policy value given for every currency, or per currency (ISO code -> value, with ``default``)."""
    if isinstance(value, dict):
        return value.get(currency, value["default"])
    return value


def _currencies(v: Any) -> Any:
    if isinstance(v, dict):
        if "default" not in v:
            raise ValueError("per currency: needs a default entry (for the other currencies)")
        bad = [k for k in v if k != "default" and not (len(k) == 3 and k.isalpha() and k.isupper())]
        if bad:
            raise ValueError(f"per currency: {', '.join(bad)} is not an ISO 4217 code")
    return v


class RiskSpec(Strict):
    dpd: PointsTable
    # amounts are in the loan's currency: one table for all, or a table per currency with a default
    overdue_total: PointsTable | dict[str, PointsTable]
    times_late: PointsTable
    broken_promises: PointsTable = []
    secured_credit: int = Field(default=1, ge=0)
    medium_at: int = Field(ge=0)
    high_at: int = Field(ge=0)

    _tables = field_validator("dpd", "times_late", "broken_promises")(_table)

    @field_validator("overdue_total")
    @classmethod
    def _amount_tables(cls, v: PointsTable | dict[str, PointsTable]) -> PointsTable | dict[str, PointsTable]:
        _currencies(v)
        for table in v.values() if isinstance(v, dict) else [v]:
            _table(table)
        return v

    @model_validator(mode="after")
    def _ordered(self) -> RiskSpec:
        if self.high_at <= self.medium_at:
            raise ValueError("high_at: must be greater than medium_at")
        return self


class ProductSpec(Strict):
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


class ActionSpec(Strict):
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


class MessagesSpec(Strict):
    deadline_days: int = Field(default=7, ge=0, le=60)
    sms_max_segments: int = Field(default=3, ge=1, le=10)
    stale_after_days: int = Field(default=1, ge=0, le=30)
    preview_mask: bool = True


class RegisteredTemplateSpec(Strict):
    """One Arrears template as registered with a provider that sends only approved templates:
    its template code per locale, and a signature of its own if it differs from the provider's."""

    sign_name: str | None = Field(default=None, min_length=1, max_length=32)
    zh_CN: str | None = Field(default=None, pattern=r"^SMS_\d+$")  # noqa: N815 - the locale is the key
    en_US: str | None = Field(default=None, pattern=r"^SMS_\d+$")  # noqa: N815

    def code(self, locale: str) -> str | None:
        return {"zh_CN": self.zh_CN, "en_US": self.en_US}.get(locale)


class AliyunSmsSpec(Strict):
    """Alibaba Cloud SMS (阿里云短信): the registered signature (短信签名) and, per Arrears SMS
    template, the registered template codes (模板CODE). The registered texts are kept in
    ``templates/providers/aliyun/sms/<locale>/<template>.txt`` and checked against ours."""

    sign_name: str = Field(default="", max_length=32)
    templates: dict[str, RegisteredTemplateSpec] = {}


class ProvidersSpec(Strict):
    aliyun: AliyunSmsSpec = AliyunSmsSpec()


class LettersSpec(Strict):
    deadline_days: int = Field(default=15, ge=1, le=90)  # "pay by": letter date + 15 days
    dispute_days: int = Field(default=15, ge=1, le=90)  # how long the borrower has to dispute in writing


class ReminderSpec(Strict):
    action: str = Field(min_length=1, pattern=r"^[a-z0-9_]+$")
    channel: Literal["sms", "email"]
    template: str = Field(min_length=1)
    tone: Literal["friendly", "gentle", "firm"] = "friendly"


class PromisesSpec(Strict):
    reminder_days_before: int = Field(default=1, ge=0, le=14)  # reminder on promised date - N days
    reminders: list[ReminderSpec] = []
    hold_ladder: bool = True  # while a promise is open the stage ladder pauses (its reminder still goes)
    partial_counts_as_broken: bool = True  # for risk and escalation


class DisputesSpec(Strict):
    reply_days: int = Field(default=15, ge=1, le=90)  # the lender answers a dispute within N days


class EscalationRule(Strict):
    """Fires when every condition it names holds (rules are alternatives)."""

    name: str = Field(min_length=1, pattern=r"^[a-z0-9_]+$")
    min_dpd: int | None = Field(default=None, ge=1)
    broken_promises: int | None = Field(default=None, ge=1)
    min_overdue_total: Decimal | dict[str, Decimal] | None = None  # in the loan's currency, or per currency
    stages: list[str] | None = None

    @model_validator(mode="after")
    def _has_condition(self) -> EscalationRule:
        if self.min_dpd is None and self.broken_promises is None and self.min_overdue_total is None:
            raise ValueError("needs at least one of min_dpd, broken_promises, min_overdue_total")
        amounts = self.min_overdue_total
        _currencies(amounts)
        if amounts is not None and min(amounts.values() if isinstance(amounts, dict) else [amounts]) <= 0:
            raise ValueError("min_overdue_total: must be greater than 0")
        return self


LEGAL_STEPS = ("lawyers_letter", "arbitration", "litigation", "enforcement")


class EscalationSpec(Strict):
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


class RetentionSpec(Strict):
    # personal data of borrowers whose cases closed (and loans ended) over N days ago is
    # anonymised by `arrears retention --apply`; aggregates stay
    days: int = Field(default=1825, ge=30)
