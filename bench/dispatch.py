"""Benchmark: messages per second through the official SDKs to the fake providers.

    python -m bench.dispatch [--messages N] [--threads T] [--rate R] [--seconds S] [--db sqlite|postgresql]

Fills an outbox (SQLite file) with N SMS and N emails, then sends them with the real
dispatcher (claim -> SDK call -> settle, all in the database) to the fake Twilio and
SendGrid on 127.0.0.1:
  unlimited  no rate limit: what the SDKs, the fake and our bookkeeping can do;
  limited    the configured rate R for about S seconds: achieved rate vs R (target: within 5 %).
Emails go out one per request (unique bodies) and, separately, batched with
personalizations (a body shape shared by many recipients).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime

from sqlalchemy import Engine, text

from arrears.db import make_engine, upgrade
from arrears.fakeprovider.server import free_port
from arrears.providers.ratelimit import TokenBucket
from arrears.providers.sendgrid_email import SendGridCredentials, SendGridEmail
from arrears.providers.twilio_sms import TwilioCredentials, TwilioSms
from arrears.steps.sender import Dispatcher, RetryRule
from arrears.store import outbox
from bench.scratch import scratch_database

AS_OF = date(2026, 11, 23)


def fill(engine: Engine, channel: str, n: int, shared_shape: bool, offset: int) -> list[int]:
    now = datetime.now(UTC)
    rows = []
    for i in range(offset, offset + n):
        name = f"Borrower {i:07d}"
        fields = {"name": name, "dpd": "12", "total": "$1,234.56"}
        body = f"Anxin Lending: Hi {name}, loan LN{i:08d} is 12 days past due ($1,234.56). Reply STOP to opt out."
        if channel == "email" and not shared_shape:
            fields = {}  # no merge fields: every email is its own request
        rows.append(
            {
                "key": f"loan:LN{i:08d}:bench:{channel}:{AS_OF}",
                "as_of": AS_OF,
                "channel": channel,
                "borrower_id": "B1",
                "loan_id": 1,
                "template": "m1_gentle",
                "locale": "en_US",
                "recipient": f"+1415{i:07d}" if channel == "sms" else f"b{i}@example.com",
                "subject": f"Loan LN{i:08d}" if channel == "email" else None,
                "body_text": body,
                "body_html": f"<p>{body}</p>" if channel == "email" else None,
                "segments": 1 if channel == "sms" else None,
                "merge_fields": json.dumps({**fields, "loan": f"LN{i:08d}"}) if channel == "email" else None,
                "status": "queued",
                "attempts": 0,
                "queued_at": now,
                "updated_at": now,
            }
        )
    with engine.begin() as conn:
        outbox.insert_messages(conn, rows)
        return outbox.ids_in_status(conn, channel, "queued")


@contextmanager
def fake_in_subprocess() -> Iterator[tuple[str, dict[str, str]]]:
    """`arrears fake-providers` in its own process (callbacks off): in-process, the fake would
    share the GIL with the senders and the numbers would be about the GIL."""
    port = free_port()
    proc = subprocess.Popen(  # noqa: S603
        [sys.executable, "-m", "arrears", "fake-providers", "--port", str(port), "--no-callbacks"],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "COLUMNS": "500"},
    )
    try:
        env: dict[str, str] = {}
        while len(env) < 8:
            line = proc.stdout.readline()  # type: ignore[union-attr]
            if not line:
                raise RuntimeError("fake-providers exited")
            if line.startswith("export "):
                key, _, value = line.removeprefix("export ").strip().partition("=")
                env[key] = value.strip('"')
        yield f"http://127.0.0.1:{port}", env
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def render_rate(n: int) -> float:
    """Outbox rows composed (rendered, consent-checked) per second, as `queue-messages` does."""
    from decimal import Decimal

    from arrears.messaging.checks import SAMPLE_LENDER
    from arrears.messaging.compose import ActionToQueue, compose
    from arrears.policy import load_policy

    policy = load_policy()
    templates = ("m1_gentle", "m2_firm", "m3_final_notice", "pre_due_reminder")
    actions = [
        ActionToQueue(
            key=f"loan:LN{i:08d}:x:{'sms' if i % 2 else 'email'}:{AS_OF}",
            as_of=AS_OF,
            channel="sms" if i % 2 else "email",
            template=templates[i % 4],
            borrower_id="B1",
            loan_id=1,
            loan_nos=(f"LN{i:08d}",),
            name="张伟" if i % 3 else "Wei Zhang",
            locale="zh_CN" if i % 3 else "en_US",
            phone="+8613812345678",
            email="z@example.cn",
            sms_consent=True,
            email_consent=True,
            loan_no=f"LN{i:08d}",
            currency="CNY",
            dpd=i % 120,
            overdue=(Decimal("1000.00"), Decimal("50.00"), Decimal("3.21"), Decimal("50.00"), Decimal("1103.21")),
            next_due_date=AS_OF,
            next_amount_due=Decimal("1050.00"),
        )
        for i in range(n)
    ]
    started = time.perf_counter()
    compose(actions, {}, policy, SAMPLE_LENDER, datetime.now(UTC))
    return n / (time.perf_counter() - started)


def run(dispatcher: Dispatcher, ids: list[int]) -> tuple[float, int, int]:
    started = time.perf_counter()
    report = dispatcher.send(ids)
    return time.perf_counter() - started, report.sent, report.requests


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--messages", type=int, default=2000)
    ap.add_argument("--threads", type=int, default=4)
    ap.add_argument("--rate", type=float, default=100.0, help="configured messages/s for the limited run")
    ap.add_argument("--seconds", type=float, default=10.0, help="length of the limited run")
    ap.add_argument("--db", choices=["sqlite", "postgresql"], default="sqlite", help="where the outbox lives")
    ap.add_argument("--postgres-url", default="postgresql://postgres@127.0.0.1:5432/test")
    args = ap.parse_args()
    os.environ.setdefault("NO_PROXY", "127.0.0.1,localhost")

    print(f"render (queue-messages): {render_rate(20_000):,.0f} messages/s (half SMS, half email, zh_CN/en_US)")
    with scratch_database(args.db, "dispatch", args.postgres_url) as url:
        engine = make_engine(url)
        upgrade(engine)
        try:
            _bench(engine, args)
        finally:
            engine.dispose()


def _bench(engine: Engine, args: argparse.Namespace) -> None:
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO borrower (borrower_id, name, id_number, locale, timezone, sms_consent,"
                " email_consent, updated_at) VALUES ('B1', 'x', 'x', 'en_US', 'UTC', true, true, :t)"
            ),
            {"t": datetime.now(UTC)},
        )
        conn.execute(
            text(
                "INSERT INTO loan (id, loan_no, borrower_id, product, currency, principal, annual_rate,"
                " penalty_rate_daily, late_fee, grace_days, contract_date, secured)"
                " VALUES (1, 'LN1', 'B1', 'p', 'USD', 0, '0', '0', 0, 0, '2026-01-01', false)"
            ),
            {"t": datetime.now(UTC)},
        )

    with fake_in_subprocess() as (url, env):
        sms = TwilioSms(
            TwilioCredentials(env["ARREARS_TWILIO_ACCOUNT_SID"], env["ARREARS_TWILIO_AUTH_TOKEN"], url, 10.0),
            env["ARREARS_TWILIO_FROM"],
            "http://127.0.0.1:9",
        )
        email = SendGridEmail(SendGridCredentials(env["ARREARS_SENDGRID_API_KEY"], url, 10.0), "x@anxin.example")

        def dispatcher(provider, rate: float) -> Dispatcher:  # type: ignore[no-untyped-def]
            return Dispatcher(
                engine,
                provider,
                limiter=TokenBucket(rate, burst=args.threads),
                retry=RetryRule(),
                now=lambda: datetime.now(UTC),
                sleep=time.sleep,
                threads=args.threads,
            )

        n = args.messages
        print(f"{n} messages per run, {args.threads} sender threads, outbox on {args.db}, fake providers on {url}")
        print(f"{'run':34} {'messages':>8} {'requests':>8} {'seconds':>8} {'msg/s':>8}")
        offset = 0
        for label, channel, provider, shared in (
            ("twilio sms, unlimited", "sms", sms, False),
            ("sendgrid email, 1 per request", "email", email, False),
            ("sendgrid email, batched", "email", email, True),
        ):
            ids = fill(engine, channel, n, shared, offset)
            offset += n
            secs, sent, requests = run(dispatcher(provider, 0), ids)
            print(f"{label:34} {sent:>8} {requests:>8} {secs:>8.2f} {sent / secs:>8.0f}")
        for label, channel, provider in (("twilio sms", "sms", sms), ("sendgrid email", "email", email)):
            count = int(args.rate * args.seconds)
            ids = fill(engine, channel, count, False, offset)
            offset += count
            secs, sent, requests = run(dispatcher(provider, args.rate), ids)
            # the first call goes at t=0: (sent - 1) intervals fill the run
            achieved = (requests - 1) / secs
            print(
                f"{label + f' limited to {args.rate:g}/s':34} {sent:>8} {requests:>8} {secs:>8.2f} {achieved:>8.1f}"
                f"   achieved/configured = {achieved / args.rate:.3f}"
            )


if __name__ == "__main__":
    main()
