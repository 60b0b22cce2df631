"""Benchmark: the contact-rules guard on a book of N loans (default 200,000).

    python -m bench.guard [--loans N] [--db sqlite|postgresql]

Builds the classify benchmark's book, classifies and plans one day (direct, no Prefect), then
times the guard's two passes the flow runs:
  plan time  every planned contact of the day decided (standing read per borrower, decided in
             Python, decisions written): the `guard` step; re-run: nothing left to decide;
  send time  every queued message screened again (as the send tasks do, in 2,000-message chunks),
             without calling a provider.
Prints seconds and contacts/s.
"""

from __future__ import annotations

import argparse
import time
from datetime import UTC, datetime

from sqlalchemy import text

from arrears.db import make_engine, upgrade
from arrears.messaging.compose import compose
from arrears.policy import load_policy
from arrears.settings import Settings
from arrears.steps.guard import guard_day, screen
from arrears.steps.plan import plan_borrowers
from arrears.store import outbox
from arrears.templating.lender import lender_from
from bench.cases import _classify
from bench.classify import AS_OF, build_book
from bench.scratch import scratch_database


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--loans", type=int, default=200_000)
    parser.add_argument("--db", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--postgres-url", default="postgresql://postgres@127.0.0.1:5432/test")
    args = parser.parse_args()
    with scratch_database(args.db, "guard", args.postgres_url) as url:
        engine = make_engine(url)
        upgrade(engine)
        build_book(engine, args.loans)
        with engine.begin() as conn:  # the benchmark book has no contact details: every borrower reachable
            conn.execute(
                text(
                    "UPDATE borrower SET phone = '+8613800000000', email = 'b@example.com', sms_consent = :t,"
                    " email_consent = :t"
                ),
                {"t": True},
            )
        _classify(url, 2, AS_OF)
        plan_borrowers(url, None, "", "~", AS_OF)
        policy = load_policy()
        rules = policy.guard_rules
        now = datetime(AS_OF.year, AS_OF.month, AS_OF.day, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai
        timings = {}
        for label in ("plan time", "re-run"):
            t = time.perf_counter()
            with engine.begin() as conn:
                counts = guard_day(conn, AS_OF, rules, now)
            timings[label] = (time.perf_counter() - t, sum(counts.values()), counts)
        with engine.begin() as conn:
            actions = outbox.actions_to_queue(conn, AS_OF)
            composed = compose(actions, {}, policy, lender_from(Settings()), now)
            outbox.insert_messages(conn, composed.rows)
        screened = 0
        t = time.perf_counter()
        for channel in ("sms", "email"):
            with engine.connect() as conn:
                ids = outbox.ids_in_status(conn, channel, "queued", AS_OF, due_by=now)
            for i in range(0, len(ids), 2000):
                with engine.begin() as conn:
                    rows = outbox.load(conn, ids[i : i + 2000])
                    screened += len(screen(conn, rows, rules, now))
        send_s = time.perf_counter() - t
        print(f"loans        {args.loans:,} ({args.db})")
        for label, (seconds, n, counts) in timings.items():
            top = ", ".join(f"{v}:{r} {c:,}" for (v, r), c in counts.most_common(4))
            rate = f"{n / seconds:10,.0f} contacts/s" if n else " " * 21
            print(f"{label:12} {seconds:7.2f} s {rate}   ({n:,} decided{': ' + top if top else ''})")
        print(f"{'send time':12} {send_s:7.2f} s {screened / send_s:10,.0f} messages/s   ({screened:,} screened)")


if __name__ == "__main__":
    main()
