"""Figures over a range of run days, for the report: what collections managers track.

* stage distribution per run day (loans per stage);
* cure rate: cases closed as cured in the range / cases open at some point in it;
* collection cycle: mean days from a case opening to its cure, for cases cured in the range;
* promise kept rate: promises judged in the range, by verdict;
* contacts per cure, by channel: SMS and email sent, letters produced, calls made on the
  cases cured in the range (between their opening and their cure), per cured case;
* suppression reasons: the range's contacts whose latest guard decision was suppress, by rule.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import Connection, Date, bindparam, text

from arrears.money import ratio
from arrears.store import as_date

FIRST = bindparam("first", type_=Date())
LAST = bindparam("last", type_=Date())


def _in_range(conn: Connection, sql: str, first: date, last: date) -> list[Any]:
    """The rows of a query over the run days ``first..last`` (bound as ``:first``, ``:last``)."""
    return list(conn.execute(text(sql).bindparams(FIRST, LAST), {"first": first, "last": last}))


def stage_series(conn: Connection, first: date, last: date) -> dict[date, dict[str, int]]:
    sql = (
        "SELECT as_of, stage, COUNT(*) FROM position WHERE as_of BETWEEN :first AND :last"
        " GROUP BY as_of, stage ORDER BY as_of"
    )
    out: dict[date, dict[str, int]] = {}
    for day, stage, n in _in_range(conn, sql, first, last):
        out.setdefault(as_date(day), {})[stage] = int(n)
    return out


@dataclass(frozen=True)
class Cures:
    cured: int  # cases closed as cured in the range
    cases: int  # cases open at some point in the range
    cycle_days: Decimal | None  # mean days open -> cured

    @property
    def rate(self) -> Decimal:
        return ratio(self.cured, self.cases)


CURED = (
    "SELECT loan_id, opened_on, closed_on FROM collection_case"
    " WHERE close_reason = 'cured' AND closed_on BETWEEN :first AND :last"
)


def _count(conn: Connection, sql: str, first: date, last: date) -> int:
    return int(_in_range(conn, sql, first, last)[0][0] or 0)


def cures(conn: Connection, first: date, last: date) -> Cures:
    cured = _in_range(conn, CURED, first, last)
    open_in_range = "opened_on <= :last AND (closed_on IS NULL OR closed_on >= :first)"
    cases = _count(conn, f"SELECT COUNT(*) FROM collection_case WHERE {open_in_range}", first, last)
    days = [(as_date(c.closed_on) - as_date(c.opened_on)).days for c in cured]
    cycle = (Decimal(sum(days)) / len(days)).quantize(Decimal("0.1"), ROUND_HALF_UP) if days else None
    return Cures(len(cured), cases, cycle)


def promise_verdicts(conn: Connection, first: date, last: date) -> dict[str, int]:
    sql = "SELECT status, COUNT(*) FROM promise WHERE judged_on BETWEEN :first AND :last GROUP BY status"
    return {s: int(n) for s, n in _in_range(conn, sql, first, last)}


def contacts_per_cure(conn: Connection, first: date, last: date) -> dict[str, Decimal]:
    """channel -> contacts made on the cases cured in the range, per cured case."""
    message = (
        "SELECT COUNT(*) FROM outbox_message o JOIN ({c}) c ON c.loan_id = o.loan_id WHERE o.channel = '{ch}'"
        " AND o.status IN ('sent', 'delivered') AND o.as_of BETWEEN c.opened_on AND c.closed_on"
    )
    queries = {
        "sms": message.replace("{ch}", "sms"),
        "email": message.replace("{ch}", "email"),
        "letter": "SELECT COUNT(*) FROM letter t JOIN ({c}) c ON c.loan_id = t.loan_id"
        " WHERE t.status = 'rendered' AND t.as_of BETWEEN c.opened_on AND c.closed_on",
        "call": "SELECT COUNT(*) FROM call_task k JOIN ({c}) c ON c.loan_id = k.loan_id"
        " WHERE k.status = 'done' AND k.as_of BETWEEN c.opened_on AND c.closed_on",
    }
    n_cured = _count(conn, f"SELECT COUNT(*) FROM ({CURED}) c", first, last)
    return {channel: ratio(_count(conn, q.format(c=CURED), first, last), n_cured) for channel, q in queries.items()}


def suppression_reasons(conn: Connection, first: date, last: date) -> dict[str, int]:
    sql = (
        "SELECT d.rule, COUNT(*) FROM contact_decision d WHERE d.id IN"
        " (SELECT MAX(id) FROM contact_decision WHERE as_of BETWEEN :first AND :last GROUP BY key)"
        " AND d.verdict = 'suppress' GROUP BY d.rule ORDER BY COUNT(*) DESC"
    )
    return {r: int(n) for r, n in _in_range(conn, sql, first, last)}
