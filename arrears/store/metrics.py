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

from sqlalchemy import Connection, Date, bindparam, text

from arrears.store import as_date

FIRST = bindparam("first", type_=Date())
LAST = bindparam("last", type_=Date())


def _params(first: date, last: date) -> dict[str, date]:
    return {"first": first, "last": last}


def stage_series(conn: Connection, first: date, last: date) -> dict[date, dict[str, int]]:
    rows = conn.execute(
        text(
            "SELECT as_of, stage, COUNT(*) FROM position WHERE as_of BETWEEN :first AND :last"
            " GROUP BY as_of, stage ORDER BY as_of"
        ).bindparams(FIRST, LAST),
        _params(first, last),
    )
    out: dict[date, dict[str, int]] = {}
    for day, stage, n in rows:
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


def ratio(part: int | Decimal, whole: int | Decimal) -> Decimal:
    if not whole:
        return Decimal(0)
    return (Decimal(part) / Decimal(whole)).quantize(Decimal("0.0001"), ROUND_HALF_UP)


def cures(conn: Connection, first: date, last: date) -> Cures:
    p = _params(first, last)
    cured = conn.execute(
        text(
            "SELECT opened_on, closed_on FROM collection_case"
            " WHERE close_reason = 'cured' AND closed_on BETWEEN :first AND :last"
        ).bindparams(FIRST, LAST),
        p,
    ).all()
    cases = conn.execute(
        text(
            "SELECT COUNT(*) FROM collection_case WHERE opened_on <= :last"
            " AND (closed_on IS NULL OR closed_on >= :first)"
        ).bindparams(FIRST, LAST),
        p,
    ).scalar()
    days = [(as_date(c) - as_date(o)).days for o, c in cured]
    cycle = (Decimal(sum(days)) / len(days)).quantize(Decimal("0.1"), ROUND_HALF_UP) if days else None
    return Cures(len(cured), int(cases or 0), cycle)


def promise_verdicts(conn: Connection, first: date, last: date) -> dict[str, int]:
    rows = conn.execute(
        text(
            "SELECT status, COUNT(*) FROM promise WHERE judged_on BETWEEN :first AND :last GROUP BY status"
        ).bindparams(FIRST, LAST),
        _params(first, last),
    )
    return {s: int(n) for s, n in rows}


def contacts_per_cure(conn: Connection, first: date, last: date) -> dict[str, Decimal]:
    """channel -> contacts made on the cases cured in the range, per cured case."""
    cured = (
        "SELECT loan_id, opened_on, closed_on FROM collection_case"
        " WHERE close_reason = 'cured' AND closed_on BETWEEN :first AND :last"
    )
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
    p = _params(first, last)
    n_cured = conn.execute(text(f"SELECT COUNT(*) FROM ({cured}) c").bindparams(FIRST, LAST), p).scalar() or 0
    return {
        channel: ratio(int(conn.execute(text(q.format(c=cured)).bindparams(FIRST, LAST), p).scalar() or 0), n_cured)
        for channel, q in queries.items()
    }


def suppression_reasons(conn: Connection, first: date, last: date) -> dict[str, int]:
    rows = conn.execute(
        text(
            "SELECT d.rule, COUNT(*) FROM contact_decision d WHERE d.id IN"
            " (SELECT MAX(id) FROM contact_decision WHERE as_of BETWEEN :first AND :last GROUP BY key)"
            " AND d.verdict = 'suppress' GROUP BY d.rule ORDER BY COUNT(*) DESC"
        ).bindparams(FIRST, LAST),
        _params(first, last),
    )
    return {r: int(n) for r, n in rows}
