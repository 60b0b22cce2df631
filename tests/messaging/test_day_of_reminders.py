"""A day of reminders through the real Twilio and SendGrid SDKs against the fake providers,
under the real flow: exactly the planned messages, never twice, nothing lost."""

from __future__ import annotations

import collections
import os
import shlex
import signal
import subprocess
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlparse
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from arrears.db import make_engine
from arrears.demo.synthetic import generate_book
from arrears.settings import get_settings
from arrears.steps.importing import import_book
from flows.daily import daily_collection
from models import Borrower, CollectionAction, OutboxMessage, Suppression
from tests.factories import day

AS_OF = day("2026-11-23")
SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 23, 9, 0, tzinfo=SHANGHAI)


@pytest.fixture
def book(providers, tmp_path):  # type: ignore[no-untyped-def]
    """300 synthetic loans imported into the test database; returns its engine."""
    engine = make_engine(get_settings().resolved_database_url)
    generate_book(tmp_path / "book", loans=300, as_of=AS_OF, seed=11, bad_rows=False)
    import_book(engine=engine, directory=tmp_path / "book")
    yield engine
    engine.dispose()


def _rows(engine, stmt):  # type: ignore[no-untyped-def]
    with engine.connect() as conn:
        return conn.execute(stmt).all()


def keys_at_fake(fake) -> collections.Counter[str]:  # type: ignore[no-untyped-def]
    """How many times each message key reached the fake provider."""
    keys = [parse_qs(urlparse(m["status_callback"]).query)["key"][0] for m in fake.sms]
    keys += [e["custom_args"]["arrears_key"] for e in fake.emails]
    return collections.Counter(keys)


def planned_messages(engine) -> set[str]:  # type: ignore[no-untyped-def]
    q = select(CollectionAction.key).where(CollectionAction.channel.in_(["sms", "email"]))
    return {k for (k,) in _rows(engine, q)}


def sendable(engine) -> set[str]:  # type: ignore[no-untyped-def]
    """Planned messages that the rules allow to send (consent, address, not opted out)."""
    q = select(OutboxMessage.key).where(OutboxMessage.status != "suppressed")
    return {k for (k,) in _rows(engine, q)}


def statuses(engine) -> dict[str, int]:  # type: ignore[no-untyped-def]
    q = select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)
    return dict(_rows(engine, q))


def test_a_day_sends_exactly_the_planned_messages_and_a_rerun_sends_none(prefect_harness, providers, book):
    state = daily_collection(as_of=AS_OF, now=NOW, return_state=True)
    assert state.is_completed(), state.message

    planned = planned_messages(book)
    assert len(planned) > 20
    assert {k for (k,) in _rows(book, select(OutboxMessage.key))} == planned
    assert keys_at_fake(providers) == collections.Counter(sendable(book))
    assert set(statuses(book)) <= {"sent", "delivered", "suppressed"}
    assert state.result().sent_in_run == len(sendable(book))

    again = daily_collection(as_of=AS_OF, now=NOW, return_state=True)
    assert again.is_completed(), again.message
    assert again.result().sent_in_run == 0
    assert max(keys_at_fake(providers).values()) == 1


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)  # rendering: the SQL runs on both in the first test
def test_messages_are_rendered_in_the_borrowers_language_with_the_days_figures(prefect_harness, providers, book):
    assert daily_collection(as_of=AS_OF, now=NOW, return_state=True).is_completed()
    rows = _rows(
        book, select(OutboxMessage).where(OutboxMessage.channel == "sms", OutboxMessage.status != "suppressed")
    )
    by_key = {parse_qs(urlparse(m["status_callback"]).query)["key"][0]: m for m in providers.sms}
    for row in rows:
        assert by_key[row.key]["body"] == row.body_text
        assert by_key[row.key]["to"] == row.recipient
        assert ("您" in row.body_text) == (row.locale == "zh_CN")


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)  # the webhooks' SQL runs on both in tests/messaging/test
def test_delivery_receipts_reach_the_outbox(prefect_harness, providers, book):
    assert daily_collection(as_of=AS_OF, now=NOW, return_state=True).is_completed()
    providers.callbacks.drain()
    assert statuses(book).get("sent", 0) == 0  # every receipt said delivered
    assert statuses(book)["delivered"] == len(sendable(book))


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)  # the SQL runs on both in the first test
def test_dry_run_renders_and_records_but_calls_no_provider(prefect_harness, providers, book):
    state = daily_collection(as_of=AS_OF, now=NOW, dry_run=True, return_state=True)
    assert state.is_completed(), state.message
    assert state.result().dry_run
    assert providers.state.requests == []
    assert statuses(book)["queued"] == len(sendable(book))

    real = daily_collection(as_of=AS_OF, now=NOW, return_state=True)
    assert real.is_completed()
    assert keys_at_fake(providers) == collections.Counter(sendable(book))


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)  # the SQL runs on both in the first test
def test_messages_of_a_day_past_the_staleness_limit_are_expired_not_sent(prefect_harness, providers, book):
    late = NOW + timedelta(days=3)  # policy: stale_after_days = 1
    state = daily_collection(as_of=AS_OF, now=late, return_state=True)
    assert state.is_completed(), state.message
    assert providers.state.requests == []
    assert statuses(book)["expired"] == len(sendable(book))


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)  # the webhooks' SQL runs on both elsewhere
def test_a_stop_reply_suppresses_every_later_sms_to_that_number(prefect_harness, providers, book):
    assert daily_collection(as_of=AS_OF, now=NOW, return_state=True).is_completed()
    phones = {m["to"] for m in providers.sms}
    for phone in phones:
        assert providers.reply(phone, "STOP") == 200
    stopped = {a for (a,) in _rows(book, select(Suppression.address).where(Suppression.channel == "sms"))}
    assert stopped == phones

    week_later = AS_OF + timedelta(days=7)  # M1 repeats every 7 days: the same loans come round again
    before = len(providers.sms)
    state = daily_collection(as_of=week_later, now=NOW + timedelta(days=7), return_state=True)
    assert state.is_completed(), state.message
    later = _rows(
        book,
        select(CollectionAction.status, CollectionAction.rule, Borrower.phone)
        .join(Borrower, Borrower.borrower_id == CollectionAction.borrower_id)
        .where(CollectionAction.as_of == week_later, CollectionAction.channel == "sms"),
    )
    to_stopped = [a for a in later if a.phone in phones]
    assert to_stopped, "the check needs a later SMS to a stopped number"
    assert all(a.status == "suppressed" and a.rule == "opted_out" for a in to_stopped)
    assert not {m["to"] for m in providers.sms[before:]} & phones


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)  # tests/resilience has the outage on both
def test_a_provider_outage_fails_the_run_with_a_count_and_a_retrigger_sends_exactly_the_rest(
    prefect_harness, providers, book, monkeypatch
):
    monkeypatch.setenv("ARREARS_RETRY_ATTEMPTS", "2")
    get_settings.cache_clear()
    providers.inject("twilio", "500", count=10_000)
    state = daily_collection(as_of=AS_OF, now=NOW, return_state=True)
    assert state.is_failed()
    sms_planned = sum(1 for k in sendable(book) if ":sms:" in k)
    assert f"{sms_planned} messages not sent: {sms_planned} still queued after provider errors" in state.message
    assert not providers.sms
    emails_first = keys_at_fake(providers)

    providers.state.faults.clear()
    retry = daily_collection(as_of=AS_OF, now=NOW, return_state=True)
    assert retry.is_completed(), retry.message
    assert retry.result().sent_in_run == sms_planned
    assert keys_at_fake(providers) == collections.Counter(sendable(book))
    assert emails_first == collections.Counter(k for k in sendable(book) if ":email:" in k)


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)  # the provider's behaviour, not the SQL
def test_a_429_storm_a_5xx_burst_and_dropped_connections_are_ridden_out_within_the_retry_budget(
    prefect_harness, providers, book, monkeypatch
):
    monkeypatch.setenv("ARREARS_RETRY_ATTEMPTS", "9")  # even one message meeting every fault gets through
    get_settings.cache_clear()
    providers.inject("twilio", "429", count=4, retry_after_s=0.05)
    providers.inject("twilio", "500", count=2)
    providers.inject("twilio", "lost_response", count=1, delay_s=4)
    providers.inject("twilio", "drop")  # connection aborted before the message was taken
    providers.inject("twilio", "drop_after")  # taken, then the connection died before the answer
    providers.inject("sendgrid", "429", count=3, retry_after_s=0.05)
    providers.inject("sendgrid", "500", count=2)
    providers.inject("sendgrid", "drop")
    providers.inject("sendgrid", "drop_after")
    state = daily_collection(as_of=AS_OF, now=NOW, return_state=True)
    assert state.is_completed(), state.message
    assert keys_at_fake(providers) == collections.Counter(sendable(book))
    assert not providers.state.faults  # every fault was met
    codes = collections.Counter(status for _, _, status in providers.state.requests)
    assert codes[429] == 7 and codes[500] == 4 and codes[0] == 2  # 0: dropped


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)  # tests/resilience kills PostgreSQL runs at every point
def test_a_run_killed_mid_dispatch_and_rerun_sends_every_message_exactly_once(
    prefect_harness, providers, book, tmp_path, fork_server
):
    from prefect.settings import PREFECT_API_URL

    providers.inject("twilio", "lost_response", count=1, delay_s=60)  # accepted, answer never comes
    providers.state.callbacks = False  # and no delivery receipt tells us either: only a lookup can
    env = {
        **os.environ,
        "PREFECT_API_URL": PREFECT_API_URL.value(),
        "ARREARS_SMS_RATE_PER_S": "4",
        "ARREARS_EMAIL_RATE_PER_S": "1",
        "ARREARS_DISPATCH_THREADS": "2",
        "ARREARS_PROVIDER_TIMEOUT_S": "60",
    }
    pid = fork_server.start(["run", "--as-of", str(AS_OF), "--now", NOW.isoformat()], env)  # a process of its own
    deadline = time.monotonic() + 120
    while statuses(book).get("sent", 0) + statuses(book).get("delivered", 0) < 5:
        assert Path(f"/proc/{pid}").exists(), "the run ended before it could be killed"
        assert time.monotonic() < deadline, "dispatch never got going"
        time.sleep(0.1)
    os.killpg(pid, signal.SIGKILL)
    assert fork_server.wait() == -9
    left = statuses(book)
    assert left.get("sending", 0) >= 1 and left.get("queued", 0) >= 1

    state = daily_collection(as_of=AS_OF, now=NOW, return_state=True)
    assert state.is_completed(), state.message
    assert keys_at_fake(providers) == collections.Counter(sendable(book))
    assert set(statuses(book)) <= {"sent", "delivered", "suppressed"}


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)  # a rate, not SQL
def test_the_sms_rate_limit_holds_across_concurrent_send_tasks(prefect_harness, providers, book, monkeypatch):
    """Measured at a fake in its own process (`arrears fake-providers`): an in-process fake
    shares the GIL with the flow and would blur arrival times."""
    import httpx

    from arrears.fakeprovider.server import free_port

    rate, burst = 10.0, 2
    port = free_port()
    fake = subprocess.Popen(  # noqa: S603
        [
            sys.executable,
            "-m",
            "arrears",
            "fake-providers",
            "--port",
            str(port),
            "--webhook-base",
            "http://127.0.0.1:9",
        ],
        stdout=subprocess.PIPE,
        text=True,
        env=os.environ,  # not a terminal, no COLUMNS: the export lines must come out whole anyway
    )
    try:
        exports = {}
        while len(exports) < 8:
            line = fake.stdout.readline()  # type: ignore[union-attr]
            assert line, "fake-providers exited"
            if line.startswith("export "):
                key, _, value = line.removeprefix("export ").strip().partition("=")
                (exports[key],) = shlex.split(value)  # as a shell reads it
        for key, value in exports.items():
            monkeypatch.setenv(key, value)
        monkeypatch.setenv("ARREARS_SMS_RATE_PER_S", str(rate))
        monkeypatch.setenv("ARREARS_DISPATCH_THREADS", str(burst))
        monkeypatch.setenv("ARREARS_DISPATCH_CHUNK", "4")  # several send tasks at once
        get_settings.cache_clear()
        state = daily_collection(as_of=AS_OF, now=NOW, return_state=True)
        assert state.is_completed(), state.message
        sms = httpx.get(f"http://127.0.0.1:{port}/_fake/state", timeout=10).json()["sms"]
    finally:
        fake.terminate()
        fake.wait(timeout=10)
    times = sorted(m["received_at"] for m in sms)
    assert len(times) >= 10
    for i, t in enumerate(times):  # never more than rate x window + the bucket's burst
        assert sum(1 for u in times[i:] if u - t < 1.0) <= rate * 1.0 + burst


def test_a_reminder_still_queued_from_yesterday_is_not_sent_once_the_loan_is_cured(
    prefect_harness, providers, book, monkeypatch
):
    from sqlalchemy import text

    monkeypatch.setenv("ARREARS_RETRY_ATTEMPTS", "1")
    get_settings.cache_clear()
    providers.inject("twilio", "500", count=10_000)  # day 1: no SMS goes out
    assert daily_collection(as_of=AS_OF, now=NOW, return_state=True).is_failed()
    queued = _rows(
        book, select(OutboxMessage).where(OutboxMessage.status == "queued", ~OutboxMessage.key.contains("pre_due"))
    )
    cured = queued[0]
    with book.begin() as conn:  # the borrower pays everything that evening
        conn.execute(
            text("INSERT INTO payment (reference, loan_id, paid_on, amount) VALUES ('CURE-1', :l, :d, 100000000)"),
            {"l": cured.loan_id, "d": AS_OF},
        )
    providers.state.faults.clear()
    next_day = daily_collection(as_of=AS_OF + timedelta(days=1), now=NOW + timedelta(days=1), return_state=True)
    assert next_day.is_completed(), next_day.message
    row = _rows(book, select(OutboxMessage).where(OutboxMessage.key == cured.key))[0]
    assert (row.status, row.reason) == ("suppressed", "cured: nothing overdue on 2026-11-24")
    assert cured.key not in keys_at_fake(providers)
    others = [m.key for m in queued if m.loan_id != cured.loan_id and m.channel == "sms"]
    assert others and all(keys_at_fake(providers)[k] == 1 for k in others)
