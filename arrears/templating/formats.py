"""Money, dates and rates as a borrower reads them in their locale (Babel); CSV cells as a
spreadsheet may safely open them."""

from __future__ import annotations

import csv
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, date, datetime, tzinfo
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


def coded_amount(amount: Decimal | str, currency: str) -> str:
    """An amount as a filing states it, whatever the reader's locale: ISO code, grouped, two
    decimals (``USD 6,000.00``). The amount is already whole cents: nothing is rounded here."""
    return f"{currency} {Decimal(amount):,.2f}"


def moment(value: datetime | str, zone: tzinfo) -> datetime:
    """A stored timestamp in ``zone``, to the second. A naive value is UTC: SQLite hands raw rows
    back without the offset the columns were written with (see ``models.types.AwareDateTime``)."""
    at = datetime.fromisoformat(value) if isinstance(value, str) else value
    at = at if at.tzinfo else at.replace(tzinfo=UTC)
    return at.astimezone(zone).replace(microsecond=0)


def stamp(value: datetime | str) -> str:
    """``2026-11-23 08:05:12 +08:00``: an ISO timestamp as people read one, offset kept."""
    at = datetime.fromisoformat(value) if isinstance(value, str) else value
    offset = at.strftime("%z")
    return at.strftime("%Y-%m-%d %H:%M:%S ") + (f"{offset[:3]}:{offset[3:]}" if offset else "")


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
    # CRLF as RFC 4180 has it: a cell holding a bare CR or LF is then quoted, never a broken row
    writer = csv.DictWriter(out, fieldnames=list(columns), extrasaction="ignore", lineterminator="\r\n")
    writer.writeheader()
    writer.writerows({k: spreadsheet_cell(v) for k, v in row.items() if k in columns} for row in rows)
