"""Column types that keep money and rates exact on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import BigInteger, DateTime, String
from sqlalchemy.types import TypeDecorator

CENT = Decimal("0.01")


class Money(TypeDecorator[Decimal]):
    """Decimal in Python, integer cents in the database, rounded half-up to the cent on write:
    the rounding rule of ``arrears/money.py`` (``to_cents``/``from_cents``), which the rest of
    the code uses; models sit below it and carry their own two lines of it."""

    impl = BigInteger
    cache_ok = True

    def process_bind_param(self, value: Decimal | None, dialect: object) -> int | None:
        return None if value is None else int(Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP).scaleb(2))

    def process_result_value(self, value: int | None, dialect: object) -> Decimal | None:
        return None if value is None else Decimal(value).scaleb(-2)


class Rate(TypeDecorator[Decimal]):
    """A decimal rate stored as its exact text (SQLite has no exact numeric type)."""

    impl = String(32)
    cache_ok = True

    def process_bind_param(self, value: Decimal | None, dialect: object) -> str | None:
        return None if value is None else str(Decimal(value))

    def process_result_value(self, value: str | None, dialect: object) -> Decimal | None:
        return None if value is None else Decimal(value)


class AwareDateTime(TypeDecorator[datetime]):
    """Timezone-aware datetimes; stored as UTC (SQLite drops the offset otherwise)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: object) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: Arrears stores timezone-aware times only")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: object) -> datetime | None:
        if value is None:
            return None
        return value if value.tzinfo else value.replace(tzinfo=UTC)


def utcnow() -> datetime:
    """Wall-clock time for audit columns (created_at); never used for business dates."""
    return datetime.now(UTC)
