"""Benchmark: classify a book of N loans (default 1,000,000 x 12 installments) on a day.

    python -m bench.classify [--loans N] [--db sqlite|postgresql] [--workers W]

Builds the book with bulk loading (executemany on SQLite, COPY on PostgreSQL), then
measures, in one run:
  raw      reading the same rows (installments, payments, loans) and writing the
           same number of position rows, without computing anything (the floor);
  direct   the real classification work (read + engine + write) over a process
           pool, without Prefect;
  prefect  the same batches as real Prefect tasks (snapshot + classify) in a flow on the
           daily flow's task runner; direct and prefect are run --repeat times, interleaved,
           and the best of each counts;
and prints loans/s, peak memory (main process + largest worker), Prefect's share of
the time ((prefect - direct) / prefect, and of the CPU: flow process + Prefect server over
those plus the workers) and the ratio to the raw floor.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import random
import resource
import sys
import time
import uuid
from concurrent.futures import Executor, ProcessPoolExecutor
from datetime import date, timedelta
from pathlib import Path

from sqlalchemy import Engine, text

from arrears.db import make_engine, upgrade
from arrears.engine import PositionRow
from arrears.money import ZERO
from arrears.settings import Settings
from arrears.store.book import loan_batches
from arrears.store.positions import replace_positions

AS_OF = date(2026, 11, 23)
CHUNK = 50_000


def _book_rows(first: int, count: int, seed: int):  # type: ignore[no-untyped-def]
    rng = random.Random(seed)  # noqa: S311 - benchmark data
    borrowers, loans, installments, payments = [], [], [], []
    for loan_id in range(first, first + count):
        bid = f"B{loan_id:08d}"
        borrowers.append(
            (
                bid,
                "Bench Borrower",
                "000000000000000000",
                None,
                None,
                None,
                "zh_CN",
                "Asia/Shanghai",
                True,
                True,
                "2026-01-01T00:00:00+00:00",
            )
        )
        principal = rng.randrange(300_000, 12_000_000, 50_000)  # cents
        contract = AS_OF - timedelta(days=rng.randint(20, 420))
        loans.append(
            (
                loan_id,
                f"LN{loan_id:09d}",
                bid,
                "consumer",
                "CNY",
                principal,
                "0.18",
                "0.0005",
                5000,
                3,
                contract.isoformat(),
                False,
            )
        )
        part, interest = principal // 12, principal * 18 // 1200
        behaviour = rng.random()
        stop = rng.randint(0, 12)
        n = 0
        for seq in range(1, 13):
            due = contract + timedelta(days=30 * seq)
            p = principal - part * 11 if seq == 12 else part
            installments.append((loan_id, seq, due.isoformat(), p, interest, 0))
            if due > AS_OF:
                continue
            if behaviour < 0.6:
                paid_on, amount = due - timedelta(days=rng.randint(0, 3)), p + interest
            elif behaviour < 0.8:
                paid_on, amount = due + timedelta(days=rng.randint(0, 20)), (p + interest) * 103 // 100
            elif behaviour < 0.9:
                paid_on, amount = due, (p + interest) * 7 // 10
            elif seq <= stop:
                paid_on, amount = due, p + interest
            else:
                continue
            n += 1
            payments.append((f"P{loan_id:09d}-{n:02d}", loan_id, paid_on.isoformat(), amount))
    return borrowers, loans, installments, payments


COLUMNS = {
    "borrower": "borrower_id, name, id_number, phone, email, address, locale, timezone, sms_consent, email_consent,"
    " updated_at",
    "loan": "id, loan_no, borrower_id, product, currency, principal, annual_rate, penalty_rate_daily, late_fee,"
    " grace_days, contract_date, secured",
    "installment": "loan_id, seq, due_date, principal_due, interest_due, fee_due",
    "payment": "reference, loan_id, paid_on, amount",
}


def build_book(engine: Engine, loans: int) -> float:
    started = time.perf_counter()
    raw = engine.raw_connection()
    try:
        for first in range(1, loans + 1, CHUNK):
            count = min(CHUNK, loans + 1 - first)
            tables = dict(zip(COLUMNS, _book_rows(first, count, seed=first), strict=True))
            cur = raw.cursor()
            for table, rows in tables.items():
                cols = COLUMNS[table]
                if engine.dialect.name == "postgresql":
                    with cur.copy(f"COPY {table} ({cols}) FROM STDIN") as copy:  # type: ignore[attr-defined]
                        for row in rows:
                            copy.write_row(row)
                else:
                    marks = ", ".join("?" * len(cols.split(",")))
                    cur.executemany(f"INSERT INTO {table} ({cols}) VALUES ({marks})", rows)
            raw.commit()
            print(f"\r  built {first + count - 1:,} loans", end="", file=sys.stderr, flush=True)
    finally:
        raw.close()
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            conn.execute(text("SELECT setval('loan_id_seq', (SELECT MAX(id) FROM loan))"))
            conn.execute(text("ANALYZE"))
    print(file=sys.stderr)
    return time.perf_counter() - started


RAW_QUERIES = (
    "SELECT loan_id, seq, due_date, principal_due, interest_due, fee_due FROM installment"
    " WHERE loan_id BETWEEN {m} AND {m} ORDER BY loan_id, seq",
    "SELECT loan_id, paid_on, amount FROM payment"
    " WHERE loan_id BETWEEN {m} AND {m} AND paid_on <= {m} ORDER BY loan_id",
    "SELECT id, loan_no, borrower_id, product, penalty_rate_daily, late_fee, grace_days, secured"
    " FROM loan WHERE id BETWEEN {m} AND {m} ORDER BY id",
)


def _raw_batch(url: str, lo: int, hi: int) -> int:
    """The floor: fetch the batch's rows as the driver returns them and write one
    (constant) position per loan through the same writer; no conversion, no engine."""
    engine = make_engine(url)
    with engine.begin() as conn:
        sqlite = conn.dialect.name == "sqlite"
        mark = "?" if sqlite else "%s"
        cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
        for i, query in enumerate(RAW_QUERIES):
            params = (lo, hi, AS_OF.isoformat() if sqlite else AS_OF) if i == 1 else (lo, hi)
            cursor.execute(query.format(m=mark), params)
            loans = cursor.fetchall()
        cursor.close()
        rows = [PositionRow(loan[0], 0, "current", "low", *([ZERO] * 7), 0, None) for loan in loans]
        replace_positions(conn, AS_OF, lo, hi, rows)
    engine.dispose()
    return len(rows)


def _clear_positions(url: str) -> None:
    with make_engine(url).begin() as conn:
        conn.execute(text("DELETE FROM position"))


def _pool(workers: int) -> ProcessPoolExecutor:
    return ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"))


def _warm(pool: Executor, url: str, workers: int) -> None:
    """Spawn every worker before timing: a spawn pool starts a process only when a task finds
    none idle, so one warm-up task would leave the others to start inside the measurement."""
    loans = range(1, workers + 1)  # one loan each: concurrent writes of one loan's position would collide
    list(pool.map(_raw_batch, [url] * workers, loans, loans))


def _cpu_s(pid: int) -> float:
    """User + system CPU seconds of a process so far (0 if it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _children(pid: int) -> dict[int, str]:
    """Direct child processes of ``pid`` with their command lines."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            if ppid == pid:
                found[int(entry.name)] = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
    return found


def measure_raw(url: str, batches: list, workers: int) -> float:  # type: ignore[type-arg]
    with _pool(workers) as pool:
        _warm(pool, url, workers)
        started = time.perf_counter()
        list(
            pool.map(
                _raw_batch, [url] * len(batches), [b.first_loan_id for b in batches], [b.last_loan_id for b in batches]
            )
        )
        return time.perf_counter() - started


def measure_direct(url: str, batches: list, workers: int) -> float:  # type: ignore[type-arg]
    from arrears.steps.classify import classify_loans

    with _pool(workers) as pool:
        _warm(pool, url, workers)
        started = time.perf_counter()
        futures = [pool.submit(classify_loans, url, None, b.first_loan_id, b.last_loan_id, AS_OF) for b in batches]
        total = sum(f.result().loans for f in futures)
        elapsed = time.perf_counter() - started
    assert total == sum(b.loans for b in batches)
    return elapsed


def measure_prefect(workers: int) -> tuple[float, float, float]:
    """(classify wall time inside the flow, whole flow wall time, Prefect's share of the CPU
    used meanwhile) with the real tasks, on the daily flow's own task runner. The share is
    the flow process's and the Prefect server's CPU over theirs plus the workers'."""
    from prefect import flow, unmapped

    from arrears.runtime import open_runtime
    from arrears.settings import get_settings
    from flows.daily import daily_collection
    from tasks.classify import classify_batch
    from tasks.snapshot import snapshot_book

    timings: dict[str, float] = {}

    @flow(name="bench-classify", task_runner=daily_collection.task_runner.duplicate())
    def bench_classify() -> None:
        with open_runtime(get_settings()) as rt:
            _warm(rt.pool, rt.url, workers)
            others = _children(os.getpid())
            before = {pid: _cpu_s(pid) for pid in others}
            cpu = time.process_time()
            started = time.perf_counter()
            batches = snapshot_book(rt, AS_OF)
            classify_batch.map(unmapped(rt), batches, unmapped(AS_OF)).result()
            timings["classify"] = time.perf_counter() - started
            timings["main_cpu"] = time.process_time() - cpu
            used = {pid: _cpu_s(pid) - before[pid] for pid in others}
            timings["server_cpu"] = sum(c for pid, c in used.items() if "uvicorn" in others[pid])
            timings["workers_cpu"] = sum(c for pid, c in used.items() if "multiprocessing" in others[pid])

    @flow(name="bench-warmup")
    def warmup() -> None:
        pass

    warmup()  # the ephemeral server starts here, outside the measurement
    started = time.perf_counter()
    bench_classify()
    prefect_cpu = timings["main_cpu"] + timings["server_cpu"]
    print(
        f"  CPU during the Prefect classify: flow process {timings['main_cpu']:.1f} s, Prefect server"
        f" {timings['server_cpu']:.1f} s, workers {timings['workers_cpu']:.1f} s",
        file=sys.stderr,
    )
    return timings["classify"], time.perf_counter() - started, prefect_cpu / (prefect_cpu + timings["workers_cpu"])


def _loan_count(url: str) -> int:
    try:
        with make_engine(url).connect() as conn:
            return int(conn.execute(text("SELECT COUNT(*) FROM loan")).scalar() or 0)
    except Exception:  # noqa: BLE001 - no database or no schema yet
        return 0


def peak_rss_mb() -> tuple[float, float]:
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return own, children


def _seconds(values) -> str:  # type: ignore[no-untyped-def]
    return ", ".join(f"{v:.1f}" for v in values)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--loans", type=int, default=1_000_000)
    parser.add_argument("--db", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--batch-size", type=int, default=Settings.model_fields["batch_size"].default)
    parser.add_argument("--postgres-url", default="postgresql://postgres@127.0.0.1:5432/test")
    parser.add_argument(
        "--repeat", type=int, default=2, help="direct and Prefect runs, interleaved; the best of each counts"
    )
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="keep the book between runs (bench/out/classify.db, or schema bench_classify)",
    )
    args = parser.parse_args()

    schema = None
    if args.db == "sqlite":
        path = Path("bench/out/classify.db").resolve()
        path.parent.mkdir(parents=True, exist_ok=True)
        url = f"sqlite:///{path}"
        if not (args.reuse and _loan_count(url) == args.loans):
            for suffix in ("", "-wal", "-shm"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)
    else:
        schema = "bench_classify" if args.reuse else f"bench_{uuid.uuid4().hex[:8]}"
        with make_engine(args.postgres_url).begin() as conn:
            conn.execute(text(f"CREATE SCHEMA IF NOT EXISTS {schema}"))
        url = f"{args.postgres_url}?options=-csearch_path%3D{schema}"
        if not (args.reuse and _loan_count(url) == args.loans):
            with make_engine(args.postgres_url).begin() as conn:
                conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
                conn.execute(text(f"CREATE SCHEMA {schema}"))
    os.environ.update(
        ARREARS_DATABASE_URL=url,
        ARREARS_WORKERS=str(args.workers),
        ARREARS_BATCH_SIZE=str(args.batch_size),
        PREFECT_SERVER_ANALYTICS_ENABLED="false",
        PREFECT_LOGGING_LEVEL="WARNING",
    )
    try:
        engine = make_engine(url)
        upgrade(engine)
        if _loan_count(url) == args.loans:
            build_s = float("nan")  # reused
        else:
            print(f"building {args.loans:,} loans x 12 installments on {args.db} ...", file=sys.stderr)
            build_s = build_book(engine, args.loans)
        batches = loan_batches(engine=engine, size=args.batch_size)
        _clear_positions(url)  # each measurement classifies a fresh day
        raw_s = measure_raw(url, batches, args.workers)
        directs, prefects = [], []
        for _ in range(args.repeat):  # interleaved, so a slow spell of the VM hits both
            _clear_positions(url)
            directs.append(measure_direct(url, batches, args.workers))
            _clear_positions(url)
            prefects.append(measure_prefect(args.workers))
        direct_s = min(directs)
        prefect_s, flow_s, cpu_share = min(prefects)
        own_mb, child_mb = peak_rss_mb()
        with engine.connect() as conn:
            stored = conn.execute(text("SELECT COUNT(*) FROM position WHERE as_of = :d"), {"d": AS_OF}).scalar()
        assert stored == args.loans, (stored, args.loans)
        n = args.loans
        print(
            f"loans            {n:,} ({len(batches)} batches of {args.batch_size:,}, {args.workers} workers, {args.db})"
        )
        print(f"build (bulk)     {build_s:8.1f} s")
        print(f"raw read+write   {raw_s:8.1f} s   {n / raw_s:10,.0f} loans/s")
        print(f"direct classify  {direct_s:8.1f} s   {n / direct_s:10,.0f} loans/s   (runs: {_seconds(directs)})")
        print(
            f"prefect classify {prefect_s:8.1f} s   {n / prefect_s:10,.0f} loans/s   (runs: "
            f"{_seconds(p for p, _, _ in prefects)}; flow wall {flow_s:.1f} s)"
        )
        print(f"prefect overhead {100 * (prefect_s - direct_s) / prefect_s:8.1f} %   (wall: best of each)")
        print(f"prefect CPU      {100 * cpu_share:8.1f} %   (flow process + server, of all CPU in the best run)")
        print(f"ratio to raw     {prefect_s / raw_s:8.2f} x")
        print(f"peak RSS         {own_mb:8.0f} MB main, {child_mb:.0f} MB largest worker")
        print(f"target 60 s      {'met' if prefect_s <= 60 else 'NOT met'}")
    finally:
        if schema and not args.reuse:
            with make_engine(args.postgres_url).begin() as conn:
                conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))


if __name__ == "__main__":
    main()
