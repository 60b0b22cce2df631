"""Leases: a run that is gone is told from one that lives, and a run that cannot renew its lease
starts no provider call (without Prefect, against the fake provider through the real SDK)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from arrears.runtime import Lease, Runtime
from arrears.settings import get_settings
from arrears.steps.dispatch import gone_leases
from arrears.store import leases, slots
from models import OutboxMessage, SendSlot
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


def test_a_send_slot_is_held_by_one_live_run_and_freed_when_it_gives_it_back_or_dies(fresh_db):
    ttl, now = timedelta(seconds=3), datetime.now(UTC)
    with fresh_db.begin() as conn:
        first, second, dead = (leases.open_lease(conn, "daily", f"h:{n}", None, now) for n in (1, 2, 3))
        leases.beat(conn, dead, now - timedelta(seconds=30))  # its last heartbeat: a run killed long ago
    with fresh_db.begin() as conn:
        assert slots.take(conn, "twilio", first, now, ttl) is None
        assert slots.take(conn, "twilio", first, now, ttl) is None  # ours already
        assert slots.take(conn, "twilio", second, now, ttl) == first  # a live run holds it
        assert slots.take(conn, "sendgrid", second, now, ttl) is None  # one slot per provider
        slots.give_back(conn, "twilio", second)  # not its to give back
        assert slots.take(conn, "twilio", second, now, ttl) == first
        slots.give_back(conn, "twilio", first)
        assert slots.take(conn, "twilio", dead, now, ttl) is None
        assert slots.take(conn, "twilio", second, now, ttl) is None  # its holder died: free
        leases.release(conn, second, now)
        assert slots.take(conn, "twilio", first, now, ttl) is None  # its holder finished: free


def test_a_run_waits_for_the_send_slot_while_another_live_run_sends_through_that_provider(fresh_db):
    one, two = Lease(fresh_db, 3, "daily", None), Lease(fresh_db, 3, "dispatch", None)
    waited: list[float] = []
    try:
        with one.sending_through("twilio"), one.sending_through("twilio"):  # two of its send tasks
            def wait(seconds: float) -> None:
                waited.append(seconds)
                if len(waited) == 3:  # the first run's tasks finish while the second waits
                    raise _Finished
            with pytest.raises(_Finished), two.sending_through("twilio", wait=wait):
                pass
            with two.sending_through("sendgrid"):  # another provider's slot is free
                pass
        with two.sending_through("twilio", wait=_never):  # given back by the last of its tasks
            assert _holder(fresh_db, "twilio") == two.id
    finally:
        one.close()
        two.close()
    assert waited == [0.75, 0.75, 0.75]  # polling at a quarter of the TTL
    assert _holder(fresh_db, "twilio") is None


def _holder(engine, provider: str) -> int | None:  # type: ignore[no-untyped-def]
    with engine.connect() as conn:
        return conn.execute(select(SendSlot.lease_id).where(SendSlot.provider == provider)).scalar_one()


class _Finished(Exception):
    pass


def _never(seconds: float) -> None:
    raise AssertionError("waited for a free slot")
