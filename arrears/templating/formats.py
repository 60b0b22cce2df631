"""Money, dates and rates as a borrower reads them in their locale (Babel); CSV cells as a
spreadsheet may safely open them."""

from __future__ import annotations

import csv
from collections.abc import Iterable, Mapping, Sequence
from datetime import date
from decimal import Decimal
from functools import lru_cache
from typing import IO

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


# A cell a spreadsheet would run as a formula: its first character (OWASP, CSV injection).
FORMULA_LEADS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_cell(value: object) -> object:
    """Text that a spreadsheet would take for a formula, made inert and still readable: a leading
    ``'`` (``=HYPERLINK(...)`` -> ``'=HYPERLINK(...)``). Numbers, dates and other text pass as
    they are."""
    if isinstance(value, str) and value.startswith(FORMULA_LEADS):
        return "'" + value
    return value


def write_csv(out: IO[str], columns: Sequence[str], rows: Iterable[Mapping[str, object]]) -> None:
    """Every CSV Arrears writes for people to open (mail-house manifests, the legal hand-off):
    a header, then each row's cells (other keys ignored), spreadsheet-safe."""
    writer = csv.DictWriter(out, fieldnames=list(columns), extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    writer.writerows({k: spreadsheet_cell(v) for k, v in row.items() if k in columns} for row in rows)
