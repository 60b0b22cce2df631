"""Database functions for the daily work: raw, batched SQL on the hot path."""

from sqlalchemy import Date, bindparam

# The business day bound as a DATE (SQLite keeps ISO text, PostgreSQL a date): every
# day-scoped query in this package uses `:d` with this parameter.
DAY = bindparam("d", type_=Date())
