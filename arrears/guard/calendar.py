"""Which days a borrower may be contacted, and when the next allowed moment is (pure).

A rest day is a public holiday of the lender's country (the ``holidays`` package, China by
default), a weekend day inside a holiday break, or an excluded weekday that the country has not
made a working day (China's adjusted working days, 调休: e.g. Sunday 2025-09-28 was a working
day before the National Day break). Days and hours are the borrower's own: a window
08:00-21:00 means 08:00 <= local time < 21:00 in the borrower's timezone, across DST changes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
SEARCH_DAYS = 400  # a window that never opens within a year is a policy error, not a wait


@lru_cache(maxsize=64)
def _holidays(country: str, subdivision: str | None, year: int) -> tuple[frozenset[date], frozenset[date]]:
    """(holidays, adjusted working days) of one country-year, cached: the package is slow to build."""
    cal = holidays.country_holidays(country, subdiv=subdivision, years=year)
    workdays = frozenset(d for d in getattr(cal, "weekend_workdays", ()) if d.year == year)
    return frozenset(cal.keys()), workdays


@dataclass(frozen=True)
class ContactCalendar:
    excluded_weekdays: frozenset[int] = frozenset()  # 0 = Monday
    country: str | None = "CN"
    subdivision: str | None = None
    extra_rest_days: frozenset[date] = field(default_factory=frozenset)

    def rest_reason(self, day: date) -> str | None:
        """Why ``day`` is not a contact day ("public holiday", "excluded weekday"), or None."""
        if day in self.extra_rest_days:
            return "lender rest day"
        if self.country:
            if self._holiday(day):
                return "public holiday"
            if day in _holidays(self.country, self.subdivision, day.year)[1]:
                return None
            if day.weekday() >= 5 and self._inside_break(day):
                return "public holiday (the weekend inside a holiday break)"
        if day.weekday() in self.excluded_weekdays:
            return f"excluded weekday ({WEEKDAYS[day.weekday()]})"
        return None

    def _holiday(self, day: date) -> bool:
        assert self.country
        return day in _holidays(self.country, self.subdivision, day.year)[0]

    def _inside_break(self, day: date) -> bool:
        """A weekend day between holidays (China's Golden Week lists Oct 3 and 5, not Sunday Oct 4)."""
        before, after = day - timedelta(days=1), day + timedelta(days=1)
        while before.weekday() >= 5 and not self._holiday(before):
            before -= timedelta(days=1)
        while after.weekday() >= 5 and not self._holiday(after):
            after += timedelta(days=1)
        return self._holiday(before) and self._holiday(after)

    def is_contact_day(self, day: date) -> bool:
        return self.rest_reason(day) is None


@dataclass(frozen=True, slots=True)
class Hours:
    """Allowed local hours: start <= t < end (end may be 24:00 written as 00:00 = whole day)."""

    start: time
    end: time

    def contains(self, t: time) -> bool:
        if self.end == time(0):
            return t >= self.start
        return self.start <= t < self.end

    def __str__(self) -> str:
        return f"{self.start:%H:%M}-{self.end:%H:%M}"


def local_start(day: date, at: time, zone: ZoneInfo) -> datetime:
    """The aware moment ``day at`` in ``zone``; a wall time skipped by DST moves forward with it."""
    naive = datetime.combine(day, at)
    moment = naive.replace(tzinfo=zone)
    # round-trip through UTC: a non-existent local time (spring forward) normalises to a real one
    return moment.astimezone(ZoneInfo("UTC")).astimezone(zone)


def next_allowed(moment: datetime, zone: ZoneInfo, hours: Hours, calendar: ContactCalendar) -> datetime:
    """The earliest moment >= ``moment`` inside ``hours`` on a contact day in ``zone``."""
    local = moment.astimezone(zone)
    day = local.date()
    for _ in range(SEARCH_DAYS):
        if calendar.is_contact_day(day):
            if day == local.date() and hours.contains(local.time()):
                return moment
            start = local_start(day, hours.start, zone)
            if start >= moment:
                return start
        day += timedelta(days=1)
    raise ValueError(f"no allowed contact moment within {SEARCH_DAYS} days of {moment.isoformat()}")
