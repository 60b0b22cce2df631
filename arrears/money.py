"""Money is Decimal. The one rounding rule of Arrears lives here.

Rule: amounts are carried at full Decimal precision through every step of the
waterfall and penalty accrual; each figure that leaves the engine (a position, a
letter line, a report cell) is rounded once, half-up, to 2 places. A total is the
sum of its rounded parts, so a printed breakdown always adds up.
In the database money is stored as integer minor units (cents), exact on SQLite
and PostgreSQL alike.
"""

from __future__ import annotations

import re
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal

ZERO = Decimal(0)
CENT = Decimal("0.01")


ZERO_CENTS = Decimal("0.00")


def round_money(amount: Decimal) -> Decimal:
    """Round once, half-up, to cents."""
    if not amount:
        return ZERO_CENTS  # the common case on a healthy book; skips the quantize
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


def ratio(part: int | Decimal, whole: int | Decimal) -> Decimal:
    """A share (cure rate, recovery rate, contacts per cure) to 4 places, half-up; 0 of nothing is 0."""
    if not whole:
        return ZERO
    return (Decimal(part) / Decimal(whole)).quantize(Decimal("0.0001"), ROUND_HALF_UP)


def to_cents(amount: Decimal) -> int:
    """Rounded amount as integer minor units (for storage)."""
    if not amount:
        return 0
    return int(amount.quantize(CENT, rounding=ROUND_HALF_UP).scaleb(2))


def from_cents(cents: int) -> Decimal:
    return Decimal(cents).scaleb(-2)


# The largest amount a cents column holds (a signed 64-bit integer of cents, both databases).
DB_MAX_AMOUNT = Decimal(2**63 - 1).scaleb(-2).quantize(CENT, rounding=ROUND_DOWN)
# The default business ceiling of one amount (settings: ARREARS_MAX_AMOUNT): far below the
# database's limit, so that sums over a whole book (a million loans) still fit a cents column.
MAX_AMOUNT = Decimal("1000000000.00")
PLAIN_DECIMAL = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)$")


def _plain_decimal(text: str, what: str) -> Decimal:
    """A decimal written plainly: digits, one point; no exponent (``1e20``), no NaN or infinity."""
    stripped = text.strip() if isinstance(text, str) else ""
    if not PLAIN_DECIMAL.match(stripped):
        if re.match(r"^[+-]?[\d.]+[eE][+-]?\d+$", stripped):
            raise ValueError(f"{what} {text!r} is in exponent notation: write it out in digits")
        raise ValueError(f"not a decimal {what}: {text!r}")
    return Decimal(stripped)


def parse_amount(text: str, ceiling: Decimal = MAX_AMOUNT) -> Decimal:
    """Parse a non-negative amount written plainly with at most 2 decimal places, at most
    ``ceiling`` (never more than a cents column holds).

    Raises ValueError with a reason a clerk can act on.
    """
    value = _plain_decimal(text, "amount")
    if value < 0:
        raise ValueError(f"negative amount: {text}")
    if value.as_tuple().exponent < -2:  # type: ignore[operator]
        raise ValueError(f"more than 2 decimal places: {text}")
    limit = min(ceiling, DB_MAX_AMOUNT)
    if value > limit:
        raise ValueError(f"amount {text} is over the maximum of {limit:,.2f}")
    return value


def parse_rate(text: str) -> Decimal:
    """Parse a non-negative rate written as a decimal fraction (0.18 = 18 %)."""
    value = _plain_decimal(text, "rate")
    if value < 0:
        raise ValueError(f"rate must be a non-negative decimal: {text}")
    if value > 10:
        raise ValueError(f"rate {text} looks like a percentage; write 0.18 for 18 %")
    return value
