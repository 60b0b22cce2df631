"""Money is Decimal. The one rounding rule of Arrears lives here.

Rule: amounts are carried at full Decimal precision through every step of the
waterfall and penalty accrual; each figure that leaves the engine (a position, a
letter line, a report cell) is rounded once, half-up, to 2 places. A total is the
sum of its rounded parts, so a printed breakdown always adds up.
In the database money is stored as integer minor units (cents), exact on SQLite
and PostgreSQL alike.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

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


def parse_amount(text: str) -> Decimal:
    """Parse a non-negative decimal string with at most 2 decimal places.

    Raises ValueError with a reason a clerk can act on.
    """
    try:
        value = Decimal(text.strip())
    except (InvalidOperation, AttributeError):
        raise ValueError(f"not a decimal amount: {text!r}") from None
    if not value.is_finite():
        raise ValueError(f"not a decimal amount: {text!r}")
    if value < 0:
        raise ValueError(f"negative amount: {text}")
    if value.as_tuple().exponent < -2:  # type: ignore[operator]
        raise ValueError(f"more than 2 decimal places: {text}")
    return value


def parse_rate(text: str) -> Decimal:
    """Parse a non-negative rate written as a decimal fraction (0.18 = 18 %)."""
    try:
        value = Decimal(text.strip())
    except (InvalidOperation, AttributeError):
        raise ValueError(f"not a decimal rate: {text!r}") from None
    if not value.is_finite() or value < 0:
        raise ValueError(f"rate must be a non-negative decimal: {text}")
    if value > 10:
        raise ValueError(f"rate {text} looks like a percentage; write 0.18 for 18 %")
    return value
