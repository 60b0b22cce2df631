"""Read loans with their schedules and payments for a range of loan ids, fast.

Raw driver SQL and cached conversions: on 1M loans the reads, not the engine,
dominate otherwise.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from itertools import groupby, repeat
from operator import itemgetter
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine, bindparam, text

from arrears.engine import Installment, LoanBook, Payment, RepaymentPlan, Waiver
from arrears.store import DAY


@dataclass(frozen=True, slots=True)
class Batch:
    index: int
    first_loan_id: int
    last_loan_id: int
    loans: int

    @property
    def label(self) -> str:
        return f"batch-{self.index:04d} (loans {self.first_loan_id}-{self.last_loan_id})"


def loan_batches(*, engine: Engine, size: int) -> list[Batch]:
    """Consecutive loan-id ranges of ``size`` loans each (the last may be smaller).

    Keyset jumps along the primary key: one short index walk per batch, instead of
    bringing a million ids into Python.
    """
    batches: list[Batch] = []
    with engine.connect() as conn:
        first = conn.execute(text("SELECT MIN(id) FROM loan")).scalar()
        while first is not None:
            following = conn.execute(
                text("SELECT id FROM loan WHERE id >= :first ORDER BY id LIMIT 1 OFFSET :size"),
                {"first": first, "size": size},
            ).scalar()
            if following is None:
                last, count = conn.execute(
                    text("SELECT MAX(id), COUNT(*) FROM loan WHERE id >= :first"), {"first": first}
                ).one()
                batches.append(Batch(len(batches), first, last, count))
            else:
                batches.append(Batch(len(batches), first, following - 1, size))
            first = following
    return batches


T = TypeVar("T")


class _Dates(dict[object, date]):
    """Memoised date parsing: a book has few distinct dates and millions of rows."""

    def __missing__(self, value: object) -> date:
        d = self[value] = value if isinstance(value, date) else date.fromisoformat(str(value))
        return d


class _Cents(dict[int, Decimal]):
    """Memoised integer cents -> Decimal."""

    def __missing__(self, value: int) -> Decimal:
        m = self[value] = Decimal(value).scaleb(-2)
        return m


class _Rates(dict[str, Decimal]):
    """Memoised rate text -> Decimal."""

    def __missing__(self, value: str) -> Decimal:
        r = self[value] = Decimal(value)
        return r


# Installments due before the horizon are read one by one; the rest of a schedule is
# summed by the database into one "tail" line per loan. That is exact whenever the
# loan's payments cannot reach the tail (see _needs_full_schedule); otherwise the full
# schedule is read. On a monthly book this skips a third or more of the rows.
HORIZON_DAYS = 45

_INSTALLMENTS = (
    "SELECT loan_id, seq, due_date, principal_due, interest_due, fee_due FROM installment"
    " WHERE loan_id BETWEEN {lo} AND {hi}{only} AND due_date < {horizon} ORDER BY loan_id, seq"
)
_TAILS = (
    "SELECT loan_id, MAX(seq), MIN(due_date), CAST(SUM(principal_due) AS BIGINT), CAST(SUM(interest_due) AS BIGINT),"
    " CAST(SUM(fee_due) AS BIGINT)"
    " FROM installment WHERE loan_id BETWEEN {lo} AND {hi}{only} AND due_date >= {horizon} GROUP BY loan_id"
)
_FULL_SCHEDULES = (
    "SELECT loan_id, seq, due_date, principal_due, interest_due, fee_due FROM installment"
    " WHERE loan_id IN ({ids}) ORDER BY loan_id, seq"
)
_PAYMENTS = (
    "SELECT loan_id, paid_on, amount FROM payment WHERE loan_id BETWEEN {lo} AND {hi}{only} AND paid_on <= {as_of}"
    " ORDER BY loan_id"
)
_LOANS = (
    "SELECT id, loan_no, borrower_id, product, penalty_rate_daily, late_fee, grace_days, secured, currency"
    " FROM loan WHERE id BETWEEN {lo} AND {hi}{only_id} ORDER BY id"
)
_STAGED = " AND loan_id IN (SELECT loan_id FROM arrears_todo)"

# Loans whose position on a day may differ from the one on the previous run day: no position then;
# behind (penalty accrues, DPD grows) or pre-due; an instalment falling due within the pre-due
# window; inputs changed since (their version moved); a hardship arrangement taking effect since.
_TO_COMPUTE = (
    "SELECT l.id FROM loan l LEFT JOIN position p ON p.as_of = :prev AND p.loan_id = l.id"
    " WHERE l.id BETWEEN :lo AND :hi AND (p.loan_id IS NULL OR p.dpd > 0 OR p.stage <> 'current'"
    " OR p.next_due_date <= :window OR l.input_version <> p.input_version"
    " OR EXISTS (SELECT 1 FROM hardship h WHERE h.loan_id = l.id AND h.effective_on > :prev AND h.effective_on <= :d))"
    " ORDER BY l.id"
)


class _Reader:
    """One batch read: a DBAPI cursor and the memoised conversions."""

    def __init__(self, conn: Connection):
        self.sqlite = conn.dialect.name == "sqlite"
        self.mark = "?" if self.sqlite else "%s"
        self.cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
        self.dates, self.cents, self.rates = _Dates(), _Cents(), _Rates()

    def day(self, d: date) -> object:
        return d.isoformat() if self.sqlite else d

    def rows(self, template: str, params: tuple[Any, ...], width: int, **marks: str) -> list[list[Any]]:
        marks = {"lo": self.mark, "hi": self.mark, "only": "", "only_id": "", **marks}
        self.cursor.execute(template.format(**marks), params)
        return _columns(self.cursor.fetchall(), width)

    def installments(self, cols: list[list[Any]]) -> dict[int, tuple[Installment, ...]]:
        dates, cents = self.dates.__getitem__, self.cents.__getitem__
        items = _records(Installment, map(dates, cols[2]), cols[1], *(map(cents, c) for c in cols[3:6]))
        return _grouped(cols[0], items)


def read_books(
    conn: Connection, first_loan_id: int, last_loan_id: int, as_of: date, staged: bool = False
) -> list[LoanBook]:
    """Loans ``first..last`` (``staged``: only those staged by ``stage_loans``) with their
    installments and the payments made up to ``as_of``.

    Goes to the DBAPI cursor and converts whole columns at a time: SQLAlchemy's
    per-row wrapping and per-cell function calls cost more than the database does.
    """
    r = _Reader(conn)
    bounds = (first_loan_id, last_loan_id)
    horizon = r.day(as_of + timedelta(days=HORIZON_DAYS))
    only = _STAGED if staged else ""
    try:
        schedule = r.installments(r.rows(_INSTALLMENTS, (*bounds, horizon), 6, horizon=r.mark, only=only))
        tails = r.installments(r.rows(_TAILS, (*bounds, horizon), 6, horizon=r.mark, only=only))
        paid = r.rows(_PAYMENTS, (*bounds, r.day(as_of)), 3, as_of=r.mark, only=only)
        payments = _grouped(
            paid[0], _records(Payment, map(r.dates.__getitem__, paid[1]), map(r.cents.__getitem__, paid[2]))
        )
        full = [i for i in tails if _needs_full_schedule(schedule.get(i, ()), payments.get(i, ()))]
        if full:
            schedule.update(r.installments(r.rows(_FULL_SCHEDULES, tuple(full), 6, ids=",".join([r.mark] * len(full)))))
        for loan_id, (tail,) in tails.items():
            if loan_id not in full:
                schedule[loan_id] = (*schedule.get(loan_id, ()), tail)
        only_id = _STAGED.replace("loan_id IN", "id IN") if staged else ""
        r.cursor.execute(_LOANS.format(lo=r.mark, hi=r.mark, only_id=only_id), bounds)
        loans = r.cursor.fetchall()
    finally:
        r.cursor.close()
    plans, waivers = _hardships(conn, first_loan_id, last_loan_id, as_of)
    empty: tuple[Any, ...] = ()
    books = [
        LoanBook(
            loan_id,
            loan_no,
            borrower_id,
            product,
            r.rates[rate],
            r.cents[fee],
            grace,
            bool(secured),
            schedule.get(loan_id, empty),
            payments.get(loan_id, empty),
            currency=currency,
        )
        for loan_id, loan_no, borrower_id, product, rate, fee, grace, secured, currency in loans
    ]
    if plans or waivers:
        books = [
            b._replace(plan=plans.get(b.loan_id), waivers=waivers.get(b.loan_id, ()))
            if b.loan_id in plans or b.loan_id in waivers
            else b
            for b in books
        ]
    return books


def _hardships(
    conn: Connection, first: int, last: int, as_of: date
) -> tuple[dict[int, RepaymentPlan], dict[int, tuple[Waiver, ...]]]:
    """Active hardship arrangements in effect on ``as_of``: the latest plan and every waiver
    (few loans have any: one small query per batch, one per plan)."""
    rows = conn.execute(
        text(
            "SELECT id, loan_id, kind, effective_on, waive_penalty, waive_interest, waive_fees FROM hardship"
            " WHERE loan_id BETWEEN :lo AND :hi AND status = 'active' AND effective_on <= :d ORDER BY effective_on, id"
        ).bindparams(DAY),
        {"lo": first, "hi": last, "d": as_of},
    ).all()
    if not rows:
        return {}, {}
    cents = _Cents()
    dates = _Dates()
    plans: dict[int, RepaymentPlan] = {}
    waivers: dict[int, tuple[Waiver, ...]] = {}
    plan_ids: dict[int, tuple[int, date]] = {}
    for hid, loan_id, kind, effective, pen, intr, fees in rows:
        if kind == "plan":
            plan_ids[loan_id] = (hid, dates[effective])  # the latest plan wins
        else:
            waivers[loan_id] = (
                *waivers.get(loan_id, ()),
                Waiver(dates[effective], cents[pen], cents[intr], cents[fees]),
            )
    for loan_id, (hid, effective) in plan_ids.items():
        lines = conn.execute(
            text(
                "SELECT seq, due_date, principal_due, interest_due, fee_due FROM hardship_installment"
                " WHERE hardship_id = :h ORDER BY seq"
            ),
            {"h": hid},
        ).all()
        plans[loan_id] = RepaymentPlan(
            effective,
            tuple(Installment(dates[d], seq, cents[p], cents[i], cents[f]) for seq, d, p, i, f in lines),
        )
    return plans, waivers


def _needs_full_schedule(early: tuple[Installment, ...], payments: tuple[Payment, ...]) -> bool:
    """True when the payments could reach past the installments read one by one.

    The waterfall pays the oldest installment first and an installment owes at least
    its principal + interest + scheduled fee (penalty and late fees only add to it),
    so payments that do not exceed that sum over the early installments never reach
    the tail: summing the tail cannot change any figure of the standing.
    """
    if not payments:
        return False
    owed = sum((i.principal_due + i.interest_due + i.fee_due for i in early), Decimal(0))
    return sum((p.amount for p in payments), Decimal(0)) > owed


def _columns(rows: list[Any], width: int) -> list[list[Any]]:
    """Transpose rows into columns (C-level: no Python call per cell)."""
    return [list(map(itemgetter(k), rows)) for k in range(width)]


def _grouped(loan_ids: list[int], items: list[Any]) -> dict[int, tuple[Any, ...]]:
    """Rows ordered by loan id -> {loan_id: tuple of that loan's items} (C-level grouping)."""
    second = itemgetter(1)
    return {loan_id: tuple(map(second, group)) for loan_id, group in groupby(zip(loan_ids, items, strict=True), _first)}


_first = itemgetter(0)


def _records(cls: type[T], *columns: Iterable[Any]) -> list[T]:
    """Named tuples from columns without a Python-level call per record."""
    return list(map(tuple.__new__, repeat(cls), zip(*columns, strict=True)))  # type: ignore[arg-type]


def loans_to_compute(conn: Connection, first: int, last: int, prev: date, as_of: date, window_days: int) -> list[int]:
    """The loans of ``first..last`` whose position on ``as_of`` may differ from their position on
    ``prev`` (the previous run day); the others keep it (see ``_TO_COMPUTE``)."""
    rows = conn.execute(
        text(_TO_COMPUTE).bindparams(DAY, bindparam("prev", type_=DAY.type), bindparam("window", type_=DAY.type)),
        {"lo": first, "hi": last, "prev": prev, "d": as_of, "window": as_of + timedelta(days=window_days)},
    )
    return [int(i) for (i,) in rows]


def stage_loans(conn: Connection, loan_ids: Sequence[int]) -> None:
    """Put these loan ids in the connection's ``arrears_todo`` table (a temporary table: the batch's
    reads and its position copy take or leave them)."""
    dbapi = conn.connection.driver_connection
    cur = dbapi.cursor()  # type: ignore[union-attr]
    try:
        cur.execute("CREATE TEMP TABLE IF NOT EXISTS arrears_todo (loan_id BIGINT PRIMARY KEY)")
        cur.execute("DELETE FROM arrears_todo")
        mark = "?" if conn.dialect.name == "sqlite" else "%s"
        cur.executemany(f"INSERT INTO arrears_todo (loan_id) VALUES ({mark})", [(i,) for i in loan_ids])
        if conn.dialect.name == "sqlite":
            # The staging must not open the batch's transaction on SQLite: the reads after it would
            # pin a WAL snapshot, and the batch's write could not upgrade it once another batch had
            # committed ("database is locked" at once, whatever the busy timeout). The temporary
            # table is this connection's alone: committing it now changes nothing anyone else sees.
            dbapi.commit()  # type: ignore[union-attr]
    finally:
        cur.close()


def loan_versions(conn: Connection, first: int, last: int) -> dict[int, int]:
    """Loan id -> its input version (what its position is computed from, see ``models.loan.Loan``)."""
    q = text("SELECT id, input_version FROM loan WHERE id BETWEEN :lo AND :hi")
    rows = conn.execute(q, {"lo": first, "hi": last})
    return {int(i): int(v) for i, v in rows}
