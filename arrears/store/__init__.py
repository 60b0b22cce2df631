"""Database functions for the daily work: raw, batched SQL on the hot path."""

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Connection, Date, bindparam, text

# The business day bound as a DATE (SQLite keeps ISO text, PostgreSQL a date): every
# day-scoped query in this package uses `:d` with this parameter.
DAY = bindparam("d", type_=Date())


def rows_on(conn: Connection, sql: str, as_of: date, **params: Any) -> list[Any]:
    """The rows of a query about one business day (bound as ``:d``)."""
    return list(conn.execute(text(sql).bindparams(DAY), {"d": as_of, **params}))


def as_date(value: Any) -> date:
    """A DATE column's value as a date (SQLite hands back ISO text)."""
    return value if isinstance(value, date) else date.fromisoformat(str(value))


def optional_date(value: Any) -> date | None:
    """A nullable DATE column's value as a date or None."""
    return None if value is None else as_date(value)


def as_moment(value: Any) -> datetime | None:
    """A timestamp as an aware datetime (SQLite hands back ISO text through raw SQL; UTC if naive)."""
    if value is None:
        return None
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
