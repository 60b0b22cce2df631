"""Runs that overlap never send a message twice, and together send every one: a daily run still
sending when the hourly dispatch starts, two runs of the same day started together, a daily and
a dispatch run started together. Counted per key at the fake provider; on SQLite and PostgreSQL.

The daily runs run as ``arrears run`` processes against the session's Prefect server, so they
truly overlap with each other and with a dispatch run in this process."""

from __future__ import annotations

import collections
import os
import re
import subprocess
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlparse
from zoneinfo import ZoneInfo

import pytest
from prefect.settings import PREFECT_API_URL
from sqlalchemy import func, select

from arrears.db import make_engine
from arrears.forkserver import ForkServer
from arrears.settings import get_settings
from arrears.steps.importing import import_book
from flows.dispatch import dispatch_due
from models import OutboxMessage, RunLease
from tests.factories import day, write_book
from tests.messaging.test_day_of_reminders import keys_at_fake, sendable

AS_OF = day("2026-11-23")
NOW = datetime(2026, 11, 23, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai"))


LOANS = 40


@pytest.fixture
def book(providers, tmp_path, monkeypatch):  # type: ignore[no-untyped-def]
    """40 borrowers two days late (M1, day 1: an SMS and an email each), SMS slow enough that a run
    is still sending when the next one starts: 8 sender threads share 8 SMS a second, so a message
    can wait a second for its rate token — longer than the provider timeout (0.5 s) plus the lookup
    delay, the age at which a crashed run's message was once taken for abandoned."""
    slow = {
        "ARREARS_SMS_RATE_PER_S": "8", "ARREARS_EMAIL_RATE_PER_S": "4", "ARREARS_DISPATCH_THREADS": "8",
        "ARREARS_PROVIDER_TIMEOUT_S": "0.5",
    }  # fmt: skip
    for k, v in slow.items():
        monkeypatch.setenv(k, v)
    get_settings.cache_clear()
    engine = make_engine(get_settings().resolved_database_url)
    folder = write_book(
        tmp_path / "book",
        borrowers=[
            f"B{i},借款人{i},11010119900307{i:04d},1391234{i:04d},b{i}@example.cn,上海市{i}号,zh_CN,Asia/Shanghai,true,true"
            for i in range(LOANS)
        ],
        loans=[f"LN{i},B{i},consumer,CNY,1000.00,0.18,0.0005,0.00,0,2026-10-21" for i in range(LOANS)],
        installments=[f"LN{i},1,2026-11-21,1000.00,15.00,0.00" for i in range(LOANS)],
    )
    import_book(engine=engine, directory=folder)
    yield engine
    engine.dispose()


def _run_day(*extra: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PREFECT_API_URL": PREFECT_API_URL.value()}
    return subprocess.Popen(  # noqa: S603
        [sys.executable, "-m", "arrears", "run", "--as-of", str(AS_OF), "--now", NOW.isoformat(), *extra],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )  # fmt: skip


def _finish(proc: subprocess.Popen[bytes], timeout_s: float = 240) -> str:
    out, _ = proc.communicate(timeout=timeout_s)
    text = out.decode(errors="replace")
    assert proc.returncode == 0, text[-3000:]
    return text


def _start_day(server: ForkServer, log: Path) -> int:
    """The daily run as ``_run_day`` starts it, forked warm (the fork server runs one at a time)."""
    env = {**os.environ, "PREFECT_API_URL": PREFECT_API_URL.value()}
    return server.start(["run", "--as-of", str(AS_OF), "--now", NOW.isoformat()], env, out=log)


def _finish_day(server: ForkServer, log: Path) -> None:
    assert server.wait(240) == 0, log.read_text(errors="replace")[-3000:]


def _wait_for(predicate, what: str, timeout_s: float = 120) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout_s
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def _sending(engine) -> int:  # type: ignore[no-untyped-def]
    with engine.connect() as conn:
        q = select(func.count()).select_from(OutboxMessage).where(OutboxMessage.status == "sending")
        return int(conn.execute(q).scalar_one())


def _exactly_once(providers, engine) -> None:  # type: ignore[no-untyped-def]
    providers.callbacks.drain()
    counted = keys_at_fake(providers)
    assert {k: n for k, n in counted.items() if n > 1} == {}, "a key reached the provider twice"
    assert set(counted) == sendable(engine), "every sendable message went out"
    assert _sending(engine) == 0


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)  # production's database; the same day twice runs on
def test_the_hourly_dispatch_started_while_the_daily_run_sends_sends_nothing_twice(
    prefect_harness, providers, book, fork_server, tmp_path
):
    daily = _start_day(fork_server, tmp_path / "daily.log")
    _wait_for(lambda: len(providers.sms) >= 2, "the daily run's first SMS")
    assert Path(f"/proc/{daily}").exists(), "the daily run finished before the dispatch run started"
    report = dispatch_due(now=NOW + timedelta(minutes=5))
    _finish_day(fork_server, tmp_path / "daily.log")
    assert report.incomplete == 0
    _exactly_once(providers, book)
    assert len(keys_at_fake(providers)) == 2 * LOANS
    _one_run_at_a_time_through_the_provider(providers, book)


def _one_run_at_a_time_through_the_provider(providers, engine) -> None:  # type: ignore[no-untyped-def]
    """Twilio's rate is Twilio's: the runs took turns through its send slot (a turn ends when all
    of a run's send tasks are done), so together they kept to the one rate."""
    with engine.connect() as conn:
        claimed_by = {row.key: row.lease_id for row in conn.execute(select(OutboxMessage.key, OutboxMessage.lease_id))}
    key = lambda m: parse_qs(urlparse(m["status_callback"]).query)["key"][0]  # noqa: E731
    sent = sorted((m["created"], claimed_by[key(m)]) for m in providers.sms)
    turns = 1 + sum(1 for (_, a), (_, b) in zip(sent, sent[1:], strict=False) if a != b)
    assert turns <= 2, f"the runs' SMS interleaved ({turns} turns)"
    rate, burst = 8, 8  # ARREARS_SMS_RATE_PER_S, the sender threads
    times = [t.timestamp() for t, _ in sent]
    for i, t in enumerate(times):
        assert sum(1 for u in times[i:] if u - t < 1.0) <= rate + burst


def test_two_runs_of_the_same_day_started_together_send_each_message_once(prefect_harness, providers, book):
    first, second = _run_day(), _run_day()
    outputs = [_finish(first), _finish(second)]
    _exactly_once(providers, book)
    _one_run_at_a_time_through_the_provider(providers, book)
    sent = sum(int(n) for o in outputs for n in re.findall(r"(\d+) sent by this run", o))
    assert sent == len(keys_at_fake(providers))  # each message counted by the one run that sent it
    with book.connect() as conn:  # each held a lease while it ran, and let go of it at the end
        leases = conn.execute(select(RunLease.kind, RunLease.released_at)).all()
    assert [kind for kind, _ in leases] == ["daily", "daily"] and all(at is not None for _, at in leases)


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)  # production's database; the same day twice runs on
def test_a_daily_and_a_dispatch_run_started_together_send_each_message_once(
    prefect_harness, providers, book, fork_server, tmp_path
):
    _start_day(fork_server, tmp_path / "daily.log")
    _wait_for(lambda: _sending(book) + len(providers.sms) > 0, "the daily run to start sending")
    dispatch_due(now=NOW + timedelta(minutes=1))
    _finish_day(fork_server, tmp_path / "daily.log")
    if keys_at_fake(providers) != collections.Counter(sendable(book)):  # the dispatch ran before the day queued all
        dispatch_due(now=NOW + timedelta(minutes=2))
    _exactly_once(providers, book)
