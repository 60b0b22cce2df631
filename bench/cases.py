"""Benchmark: the daily run's case steps on a book of N loans (default 200,000).

    python -m bench.cases [--loans N] [--db sqlite|postgresql] [--workers W]

Builds the classify benchmark's book, classifies two days a month apart (direct, no
Prefect), then times, on the second day, the set-based case steps the flow runs:
  track-cases  stage changes, new cases, cured cases closed (the first day opens them);
  escalate     candidates read, rules applied, legal cases and tasks created;
and, re-run, the same steps again (a retried day: nothing new, the cost of checking).
Prints seconds and loans/s per step.
"""

from __future__ import annotations

import argparse
import os
import time
from datetime import UTC, datetime, timedelta

from sqlalchemy import text

from arrears.db import make_engine, upgrade
from arrears.runtime import Clock, Runtime
from arrears.settings import Settings
from arrears.steps.cases import track_day
from arrears.steps.classify import classify_loans
from arrears.steps.legal import escalate_day
from arrears.store.book import loan_batches
from bench.classify import AS_OF, _pool, build_book
from bench.scratch import scratch_database

DAY1 = AS_OF - timedelta(days=30)


def _classify(url: str, workers: int, day) -> float:  # type: ignore[no-untyped-def]
    batches = loan_batches(engine=make_engine(url), size=25_000)
    started = time.perf_counter()
    with _pool(workers) as pool:
        futures = [pool.submit(classify_loans, url, None, b.first_loan_id, b.last_loan_id, day) for b in batches]
        for f in futures:
            f.result()
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--loans", type=int, default=200_000)
    parser.add_argument("--db", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--postgres-url", default="postgresql://postgres@127.0.0.1:5432/test")
    args = parser.parse_args()
    with scratch_database(args.db, "cases", args.postgres_url) as url:
        engine = make_engine(url)
        upgrade(engine)
        build_book(engine, args.loans)
        c1 = _classify(url, args.workers, DAY1)
        c2 = _classify(url, args.workers, AS_OF)
        rt = Runtime.of(engine, Settings(database_url=url), clock=Clock(datetime.now(UTC)))
        t = time.perf_counter()
        first = track_day(rt, DAY1)
        open_s = time.perf_counter() - t
        timings = {}
        for label in ("first run", "re-run"):
            t = time.perf_counter()
            day = track_day(rt, AS_OF)
            track_s = time.perf_counter() - t
            t = time.perf_counter()
            legal = escalate_day(rt, AS_OF)
            escalate_s = time.perf_counter() - t
            timings[label] = (track_s, escalate_s, day, legal)
        with engine.connect() as conn:
            open_cases = conn.execute(text("SELECT COUNT(*) FROM collection_case WHERE status = 'open'")).scalar()
        n = args.loans
        print(f"loans            {n:,} ({args.db}, {args.workers} workers); classify {c1:.1f} s + {c2:.1f} s")
        print(f"day 1 cases      {open_s:8.2f} s   {n / open_s:10,.0f} loans/s   ({first.opened:,} cases opened)")
        for label, (track_s, escalate_s, day, legal) in timings.items():
            print(
                f"{label:10} track {track_s:8.2f} s   {n / track_s:10,.0f} loans/s   ({day.opened:,} opened,"
                f" {len(day.cured):,} cured, {day.stage_changes:,} stage changes)"
            )
            print(
                f"{label:10} escalate {escalate_s:5.2f} s   {n / escalate_s:10,.0f} loans/s"
                f"   ({len(legal.references):,} legal cases)"
            )
        print(f"open cases       {open_cases:,}")


if __name__ == "__main__":
    main()
