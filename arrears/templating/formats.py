"""Money, dates and rates as a borrower reads them in their locale (Babel)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from functools import lru_cache

from babel import Locale
from babel.dates import format_date
from babel.numbers import format_currency


@lru_cache(maxsize=16)
def babel_locale(code: str) -> Locale:
    """Parsed once: Babel's parse of a locale string scans its data directory on every call."""
    return Locale.parse(code)


def money(amount: Decimal, currency: str, locale: str) -> str:
    return format_currency(amount, currency, locale=babel_locale(locale))


def long_date(value: date, locale: str) -> str:
    return format_date(value, format="long", locale=babel_locale(locale))


def percent(rate: Decimal) -> str:
    """0.0005 -> '0.05%' (exact: no rounding of a contractual rate)."""
    return f"{format((Decimal(rate) * 100).normalize(), 'f')}%"
