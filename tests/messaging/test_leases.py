"""Leases: a run that is gone is told from one that lives, and a run that cannot renew its lease
starts no provider call (without Prefect, against the fake provider through the real SDK)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from arrears.runtime import Lease, Runtime
from arrears.settings import get_settings
from arrears.steps.dispatch import gone_leases
from arrears.store import leases
from models import OutboxMessage
from tests.factories import seed_outbox
from tests.messaging.test_dispatch import KEY, PHONE, _dispatcher, _twilio


def test_a_released_or_silent_lease_is_gone_and_a_beating_one_is_not(providers, fresh_db):
    rt = Runtime.of(fresh_db, get_settings())  # ARREARS_LEASE_TTL_S=3 in the tests
    alive = Lease(fresh_db, 3, "daily", None)
    now = datetime.now(UTC)
    with fresh_db.begin() as conn:
        released = leases.open_lease(conn, "daily", "h:1", None, now)
        leases.release(conn, released, now)
        silent = leases.open_lease(conn, "dispatch", "h:2", None, now - timedelta(seconds=30))
    started = time.monotonic()
    try:
        assert gone_leases(rt, {alive.id, released, silent, 999}) == {released, silent, 999}
    finally:
        alive.close()
    assert time.monotonic() - started < 3  # alive as soon as it is seen renewed (every 0.6 s here)


def test_a_lease_just_renewed_by_a_run_that_then_died_is_watched_until_it_expires(providers, fresh_db):
    rt = Runtime.of(fresh_db, get_settings())
    with fresh_db.begin() as conn:  # the last heartbeat of a run killed a moment ago
        lease_id = leases.open_lease(conn, "daily", "h:1", None, datetime.now(UTC))
    started = time.monotonic()
    assert gone_leases(rt, {lease_id}) == {lease_id}
    assert 2.5 < time.monotonic() - started < 5  # the TTL, 3 s


@dataclass
class StaleLease:
    id: int = 1

    def fresh(self) -> bool:
        return False


def test_a_run_whose_lease_is_stale_leaves_its_messages_queued_and_calls_no_provider(providers, fresh_db):
    seed_outbox(fresh_db, (KEY, "sms", PHONE, "queued", None))
    sender = _dispatcher(fresh_db, _twilio(providers))
    sender.lease = StaleLease()
    report = sender.send([1])
    assert (report.left_queued, report.requests, providers.sms) == (1, 0, [])
    with fresh_db.connect() as conn:
        assert conn.execute(select(OutboxMessage.status)).scalar_one() == "queued"


def test_a_claim_names_the_claiming_runs_lease(providers, fresh_db):
    seed_outbox(fresh_db, (KEY, "sms", PHONE, "queued", None))
    lease = Lease(fresh_db, 3, "daily", None)
    try:
        sender = _dispatcher(fresh_db, _twilio(providers))
        sender.lease = lease
        assert sender.send([1]).sent == 1
    finally:
        lease.close()
    with fresh_db.connect() as conn:
        assert conn.execute(select(OutboxMessage.lease_id)).scalar_one() == lease.id
