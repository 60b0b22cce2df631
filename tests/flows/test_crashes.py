"""A run killed right after the provider took a message, before the row says so: the re-run finds
the message at the provider by lookup and does not send it again, and marks the killed run's row
``crashed``. The kill comes from the fault-injection hook (``arrears.faults``)."""

from __future__ import annotations

import collections
import os
import subprocess
import sys

import httpx
from prefect.settings import PREFECT_API_URL
from sqlalchemy import select

from flows.daily import daily_collection
from models import CollectionRun
from tests.messaging.test_day_of_reminders import AS_OF, NOW, book, keys_at_fake, sendable, statuses  # noqa: F401


def test_a_run_killed_after_the_provider_took_a_message_is_recovered_by_lookup_not_resent(
    prefect_harness, providers, book  # noqa: F811
):
    providers.state.callbacks = False  # no receipt settles it: only the lookup can
    env = {**os.environ, "PREFECT_API_URL": PREFECT_API_URL.value(), "ARREARS_CRASH_AT": "dispatch.accepted:3"}
    killed = subprocess.run(  # noqa: S603
        [sys.executable, "-m", "arrears", "run", "--as-of", str(AS_OF), "--now", NOW.isoformat()],
        env=env, start_new_session=True, capture_output=True, timeout=300, check=False,
    )  # fmt: skip
    assert killed.returncode == -9, killed.stdout[-2000:]
    assert statuses(book).get("sending", 0) >= 1  # accepted at the provider, not settled here
    taken = len(providers.sms) + len(providers.emails)

    # what an operator sees of the fake meanwhile does not disturb what it knows (it once did)
    for _ in range(2):
        assert httpx.get(f"{providers.url}/_fake/state", timeout=10).status_code == 200

    state = daily_collection(as_of=AS_OF, now=NOW, return_state=True)
    assert state.is_completed(), state.message
    assert keys_at_fake(providers) == collections.Counter(sendable(book))
    assert set(statuses(book)) <= {"sent", "delivered", "suppressed"}
    assert len(providers.sms) + len(providers.emails) >= taken
    with book.connect() as conn:
        runs = conn.execute(select(CollectionRun.status, CollectionRun.crash_found_at).order_by(CollectionRun.id)).all()
    assert [r.status for r in runs] == ["crashed", "completed"] and runs[0].crash_found_at is not None
