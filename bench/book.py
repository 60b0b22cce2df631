"""A benchmark book of N loans, bulk-loaded (COPY on PostgreSQL, executemany on SQLite): borrowers
with phones, emails, addresses and consent, 12 monthly installments each, and payments such that on
the benchmark's first day about ``delinquent`` of the loans are behind (spread over M1..M3+) and the
rest current or pre-due; ``payments_on`` adds the next day's payments (about ``paying`` of the
loans: what an ordinary day brings)."""

from __future__ import annotations

import random
import sys
from datetime import date, timedelta

from sqlalchemy import Engine, text

from bench.classify import COLUMNS  # the same tables, bulk-loaded the same way

CHUNK = 50_000


def _rows(first: int, count: int, as_of: date, delinquent: float, seed: int):  # type: ignore[no-untyped-def]
    rng = random.Random(seed)  # noqa: S311 - benchmark data
    borrowers, loans, installments, payments = [], [], [], []
    for loan_id in range(first, first + count):
        bid = f"B{loan_id:08d}"
        cn = loan_id % 5 != 0
        phone = f"+861{rng.choice('3589')}{loan_id % 1_000_000_000:09d}" if cn else f"+1415555{loan_id % 10_000:04d}"
        borrowers.append((
            bid, f"借款人{loan_id}" if cn else f"Borrower {loan_id}", "1101**********0000", phone,
            f"b{loan_id}@example.cn", f"上海市浦东新区{loan_id}号" if cn else f"{loan_id} Main Street",
            "zh_CN" if cn else "en_US", "Asia/Shanghai" if cn else "America/New_York", True, True,
            "2026-01-01T00:00:00+00:00",
        ))  # fmt: skip
        principal = rng.randrange(300_000, 12_000_000, 50_000)  # cents
        contract = as_of - timedelta(days=rng.randint(40, 330))
        loans.append((loan_id, f"LN{loan_id:09d}", bid, "consumer", "CNY" if cn else "USD", principal, "0.18",
                      "0.0005", 5000, 3, contract.isoformat(), False))  # fmt: skip
        part, interest = principal // 12, principal * 18 // 1200
        behind = rng.random() < delinquent
        stop_after = as_of - timedelta(days=rng.randint(1, 150))  # a delinquent loan stops paying before this
        for seq in range(1, 13):
            due = contract + timedelta(days=30 * seq)
            p = principal - part * 11 if seq == 12 else part
            installments.append((loan_id, seq, due.isoformat(), p, interest, 0))
            if due >= as_of or (behind and due >= stop_after):
                continue
            paid_on = due - timedelta(days=rng.randint(0, 2))
            payments.append((f"P{loan_id:09d}-{seq:02d}", loan_id, paid_on.isoformat(), p + interest))
    return borrowers, loans, installments, payments


def build(engine: Engine, loans: int, as_of: date, delinquent: float = 0.05) -> None:
    raw = engine.raw_connection()
    try:
        for first in range(1, loans + 1, CHUNK):
            count = min(CHUNK, loans + 1 - first)
            tables = dict(zip(COLUMNS, _rows(first, count, as_of, delinquent, seed=first), strict=True))
            _load(engine, raw, tables)
            print(f"\r  built {first + count - 1:,} loans", end="", file=sys.stderr, flush=True)
    finally:
        raw.close()
    print(file=sys.stderr)
    _analyze(engine)


def payments_on(engine: Engine, day: date, paying: float, seed: int = 99) -> int:
    """The day's payments: about ``paying`` of the loans pay what they owe (a delinquent loan its
    overdue instalments, a current one its next instalment early); returns how many."""
    rng = random.Random(seed)  # noqa: S311 - benchmark data
    with engine.connect() as conn:
        total = conn.execute(text("SELECT MAX(id) FROM loan")).scalar_one()
        picked = sorted(rng.sample(range(1, total + 1), max(1, int(total * paying))))
        owed: dict[int, int] = {}
        for i in range(0, len(picked), 5000):
            ids = ",".join(map(str, picked[i : i + 5000]))
            paid = set(conn.execute(text(f"SELECT reference FROM payment WHERE loan_id IN ({ids})")).scalars())  # noqa: S608
            due = conn.execute(
                text(f"SELECT loan_id, seq, principal_due + interest_due FROM installment WHERE loan_id IN ({ids})"  # noqa: S608
                     " AND due_date <= :d"),
                {"d": day + timedelta(days=30)},
            ).all()  # fmt: skip
            for loan_id, seq, amount in due:
                if f"P{loan_id:09d}-{seq:02d}" not in paid:
                    owed[loan_id] = owed.get(loan_id, 0) + int(amount)
    rows = [(f"D{day:%Y%m%d}-{loan_id}", loan_id, day.isoformat(), amount) for loan_id, amount in owed.items()]
    raw = engine.raw_connection()
    try:
        _load(engine, raw, {"payment": rows})
    finally:
        raw.close()
    return len(rows)


def _load(engine: Engine, raw, tables) -> None:  # type: ignore[no-untyped-def]
    cur = raw.cursor()
    for table, rows in tables.items():
        cols = COLUMNS[table]
        if engine.dialect.name == "postgresql":
            with cur.copy(f"COPY {table} ({cols}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        else:
            marks = ", ".join("?" * len(cols.split(",")))
            cur.executemany(f"INSERT INTO {table} ({cols}) VALUES ({marks})", rows)  # noqa: S608
    raw.commit()


def _analyze(engine: Engine) -> None:
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            conn.execute(text("SELECT setval('loan_id_seq', (SELECT MAX(id) FROM loan))"))
            conn.execute(text("ANALYZE"))
    else:
        with engine.begin() as conn:
            conn.execute(text("ANALYZE"))
