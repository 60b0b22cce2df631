"""Experiments in the database: each loan's and borrower's arm (assigned the first day they are
planned, then kept), stops and promotions, the arm stamped on messages, letters and calls, and the
per-loan facts the results are computed from (``arrears.reports.experiments``)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, bindparam, select, text
from sqlalchemy.dialects import postgresql, sqlite

from arrears.planning import Arms, PositionView
from arrears.policy import Policy
from arrears.policy.experiments import ExperimentSpec
from arrears.reports.experiments import LoanOutcome
from arrears.store import DAY, as_date, as_moment
from models import ExperimentArm, ExperimentStop

A = ExperimentArm.__table__  # type: ignore[attr-defined]
S = ExperimentStop.__table__  # type: ignore[attr-defined]
CHUNK = 5000


def stop_of(conn: Connection, experiment: str) -> Any | None:
    return conn.execute(select(S).where(S.c.experiment == experiment)).first()


def _insert(conn: Connection, rows: list[dict[str, Any]]) -> None:
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    for i in range(0, len(rows), CHUNK):
        stmt = dialect.insert(A).values(rows[i : i + CHUNK])
        conn.execute(stmt.on_conflict_do_nothing(index_elements=["experiment", "unit", "ref"]))


def _stored(conn: Connection, experiment: str, unit: str, refs: Iterable[str]) -> dict[str, str]:
    refs = list(refs)
    out: dict[str, str] = {}
    q = select(A.c.ref, A.c.arm).where(
        A.c.experiment == experiment, A.c.unit == unit, A.c.ref.in_(bindparam("r", expanding=True))
    )
    for i in range(0, len(refs), CHUNK):
        out |= dict(conn.execute(q, {"r": refs[i : i + CHUNK]}).all())
    return out


def assign(
    conn: Connection, exp: ExperimentSpec, positions: Iterable[PositionView], as_of: date
) -> tuple[dict[str, str], dict[str, str]]:
    """Each loan's and borrower's arm (loan number -> arm, borrower id -> arm): the stored one, or
    the hash's, recorded with ``as_of`` as the day it joined. An experiment by borrower puts each
    loan in its borrower's arm."""
    borrower_of = {p.loan_no: p.borrower_id for p in positions}
    borrowers = sorted(set(borrower_of.values()))
    _insert(conn, [
        {"experiment": exp.name, "unit": "borrower", "ref": b, "arm": exp.arm_for(b), "joined_on": as_of}
        for b in borrowers
    ])  # fmt: skip
    by_borrower = _stored(conn, exp.name, "borrower", borrowers)
    loan_arm = (lambda loan: by_borrower[borrower_of[loan]]) if exp.unit == "borrower" else exp.arm_for
    _insert(conn, [
        {"experiment": exp.name, "unit": "loan", "ref": loan, "arm": loan_arm(loan), "joined_on": as_of}
        for loan in sorted(borrower_of)
    ])  # fmt: skip
    return _stored(conn, exp.name, "loan", borrower_of), by_borrower


def arms_for(conn: Connection, policy: Policy, positions: list[PositionView], as_of: date) -> Arms | None:
    """The arms that plan these positions on ``as_of``: None without a running experiment; after a
    stop, everyone on the promoted arm (or the champion), nothing recorded."""
    exp = policy.experiment_on(as_of)
    if exp is None:
        return None
    stop = stop_of(conn, exp.name)
    if stop is not None and as_date(stop.stopped_on) <= as_of:
        arm = stop.promoted_arm or exp.champion
        everyone = {p.loan_no: arm for p in positions}, {p.borrower_id: arm for p in positions}
        return Arms(*everyone, {arm: policy.arm_strategy(exp.name, arm)}, record=False)
    by_loan, by_borrower = assign(conn, exp, positions, as_of)
    strategies = {a.name: policy.arm_strategy(exp.name, a.name) for a in exp.arms}
    return Arms(by_loan, by_borrower, strategies)


def stamp_arms(conn: Connection, table: str, as_of: date) -> int:
    """Give the day's new rows of ``table`` (outbox_message, letter, call_task) their action's arm."""
    if table not in ("outbox_message", "letter", "call_task"):
        raise ValueError(table)
    return conn.execute(
        text(
            f"UPDATE {table} SET arm = (SELECT a.arm FROM collection_action a WHERE a.key = {table}.key)"  # noqa: S608
            f" WHERE as_of = :d AND arm IS NULL AND EXISTS"
            f" (SELECT 1 FROM collection_action a WHERE a.key = {table}.key AND a.arm IS NOT NULL)"
        ).bindparams(DAY),
        {"d": as_of},
    ).rowcount


def stop(conn: Connection, experiment: str, on: date, promoted_arm: str | None, by: str, at: datetime) -> bool:
    """Record the stop (once); False if it was already stopped."""
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    row = {"experiment": experiment, "stopped_on": on, "promoted_arm": promoted_arm, "stopped_by": by, "at": at}
    stmt = dialect.insert(S).values(row).on_conflict_do_nothing().returning(S.c.experiment)
    return conn.execute(stmt).first() is not None


def stops(conn: Connection) -> dict[str, Any]:
    return {r.experiment: r for r in conn.execute(select(S))}


def arm_counts(conn: Connection, experiment: str) -> dict[str, int]:
    """Loans per arm."""
    q = select(A.c.arm, text("COUNT(*)")).where(A.c.experiment == experiment, A.c.unit == "loan").group_by(A.c.arm)
    return {arm: int(n) for arm, n in conn.execute(q)}


def loan_outcomes(
    conn: Connection, exp: ExperimentSpec, as_of: date, until: date, buckets: list[str]
) -> list[LoanOutcome]:
    """Per loan of the experiment: its arm, when it joined, what it owed then, what it paid since
    (capped at that), whether and when its case was cured, whether it rolled to a worse bucket."""
    rows = conn.execute(
        text(
            "SELECT ea.arm, ea.joined_on, l.id AS loan_id, l.currency, l.borrower_id, pe.dpd, pe.stage,"
            " pe.overdue_total,"
            " (SELECT COALESCE(SUM(py.amount), 0) FROM payment py WHERE py.loan_id = l.id"
            "   AND py.paid_on >= ea.joined_on AND py.paid_on <= :d) AS paid,"
            " (SELECT MIN(c.closed_on) FROM collection_case c WHERE c.loan_id = l.id AND c.close_reason = 'cured'"
            "   AND c.closed_on > ea.joined_on AND c.closed_on <= :d) AS cured_on"
            " FROM experiment_arm ea JOIN loan l ON l.loan_no = ea.ref"
            " LEFT JOIN position pe ON pe.loan_id = l.id AND pe.as_of = ea.joined_on"
            " WHERE ea.experiment = :e AND ea.unit = 'loan' AND ea.joined_on < :u"
        ).bindparams(DAY, bindparam("u", type_=DAY.type)),
        {"e": exp.name, "d": as_of, "u": until},
    ).all()
    rolled = _rolled(conn, exp.name, as_of, buckets)
    return [
        LoanOutcome(
            arm=r.arm, joined_on=as_date(r.joined_on), currency=r.currency, borrower_id=r.borrower_id,
            dpd_in=int(r.dpd or 0), stage_in=r.stage or "", overdue_in=int(r.overdue_total or 0), paid=int(r.paid or 0),
            cured_on=as_date(r.cured_on) if r.cured_on else None, rolled=r.loan_id in rolled,
        )  # fmt: skip
        for r in rows
    ]


def _rolled(conn: Connection, experiment: str, as_of: date, buckets: list[str]) -> set[int]:
    """Loans whose bucket moved to a worse one after they joined (``buckets`` in the policy's order)."""
    rows = conn.execute(
        text(
            "SELECT sc.loan_id, sc.from_stage, sc.to_stage FROM stage_change sc"
            " JOIN loan l ON l.id = sc.loan_id JOIN experiment_arm ea ON ea.ref = l.loan_no"
            " AND ea.experiment = :e AND ea.unit = 'loan'"
            " WHERE sc.as_of > ea.joined_on AND sc.as_of <= :d"
        ).bindparams(DAY),
        {"e": experiment, "d": as_of},
    ).all()
    rank = {b: i for i, b in enumerate(buckets, start=1)}  # current and pre_due rank 0
    return {r.loan_id for r in rows if rank.get(r.to_stage, 0) > rank.get(r.from_stage or "", 0) > 0}


def contacts(conn: Connection, exp: ExperimentSpec, as_of: date, until: date) -> dict[tuple[str, str], int]:
    """(arm, channel) -> contacts made: messages sent, letters rendered, call tasks not cancelled."""
    params = {"s": exp.started_on, "d": as_of, "u": until}
    out: dict[tuple[str, str], int] = {}
    for table, channel, done in (
        ("outbox_message", "channel", "status IN ('sent', 'delivered', 'undelivered')"),
        ("letter", "'letter'", "status = 'rendered'"),
        ("call_task", "'call_task'", "status <> 'cancelled'"),
    ):
        rows = conn.execute(
            text(
                f"SELECT arm, {channel} AS ch, COUNT(*) FROM {table} WHERE arm IS NOT NULL AND {done}"  # noqa: S608
                " AND as_of >= :s AND as_of <= :d AND as_of < :u GROUP BY arm, ch"
            ).bindparams(bindparam("s", type_=DAY.type), DAY, bindparam("u", type_=DAY.type)),
            params,
        ).all()
        for arm, ch, n in rows:
            out[(arm, ch)] = out.get((arm, ch), 0) + int(n)
    return out


def complaints(conn: Connection, exp: ExperimentSpec, as_of: date) -> tuple[set[str], set[str]]:
    """Borrowers of the experiment who opted out (STOP, TD, unsubscribe: not a hard bounce) and who
    complained (a spam report, a dispute) on or after the day they joined."""
    rows = conn.execute(
        text(
            "SELECT ea.ref, ea.joined_on, s.reason, s.created_at FROM experiment_arm ea"
            " JOIN borrower b ON b.borrower_id = ea.ref JOIN suppression s ON s.address IN (b.phone, LOWER(b.email))"
            " WHERE ea.experiment = :e AND ea.unit = 'borrower' AND s.reason <> 'hard bounce'"
        ),
        {"e": exp.name},
    ).all()
    after = [r for r in rows if as_moment(r.created_at).date() >= as_date(r.joined_on)]
    opted = {r.ref for r in after if r.reason != "spam report"}
    spam = {r.ref for r in after if r.reason == "spam report"}
    disputed = conn.execute(
        text(
            "SELECT DISTINCT l.borrower_id FROM dispute d JOIN loan l ON l.id = d.loan_id"
            " JOIN experiment_arm ea ON ea.ref = l.loan_no AND ea.experiment = :e AND ea.unit = 'loan'"
            " WHERE d.opened_on >= ea.joined_on AND d.opened_on <= :d"
        ).bindparams(DAY),
        {"e": exp.name, "d": as_of},
    ).scalars().all()
    return opted, spam | set(disputed)


def borrower_arms(conn: Connection, experiment: str) -> Mapping[str, str]:
    q = select(A.c.ref, A.c.arm).where(A.c.experiment == experiment, A.c.unit == "borrower")
    return dict(conn.execute(q).all())
