"""The policy's ``guard`` section: contact hours, caps, calendar, stop flags, third parties and
forbidden words, turned into the pure guard's rules."""

from __future__ import annotations

from datetime import time, timedelta
from typing import Literal

import holidays
from pydantic import Field, field_validator, model_validator

from arrears.guard import ChannelRules, ContactCalendar, GuardRules, Hours
from arrears.guard.calendar import WEEKDAYS
from arrears.policy.sections import Strict

WEEKDAY = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


def _clock(value: str) -> time:
    if value == "24:00":
        return time(0)
    try:
        return time.fromisoformat(value)
    except ValueError:
        raise ValueError(f"{value!r} is not a time HH:MM") from None


class ChannelGuardSpec(Strict):
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


class HolidaysSpec(Strict):
    country: str = "CN"  # ISO code for the `holidays` package (its adjusted working days count as working)
    subdivision: str | None = None

    @model_validator(mode="after")
    def _known(self) -> HolidaysSpec:
        try:
            holidays.country_holidays(self.country, subdiv=self.subdivision)
        except NotImplementedError as err:
            raise ValueError(f"holidays: {err}") from None
        return self


class ThirdPartySpec(Strict):
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


class GuardSpec(Strict):
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
