"""Providers misbehaving through a day: a 429 storm with Retry-After, answers slower than the
timeout, answers lost after the provider took the message, 500s — then a whole-run outage and the
run again once they are back. Each message reaches the provider exactly once.

One assumption is stated, not hidden: a request our client gave up on is finished or dropped by
the provider within ``ARREARS_LOOKUP_DELAY_S`` of the timeout (the lookup then settles it). The
slow answers here stay inside that window; see RELIABILITY.md."""

from __future__ import annotations

import pytest

from arrears.db import make_engine
from arrears.demo.synthetic import generate_book
from arrears.fakeprovider.audit import exactly_once
from arrears.settings import get_settings
from arrears.steps.importing import import_book
from arrears.steps.verify import verify_day
from flows.daily import daily_collection
from tests.resilience.test_crash_points import AS_OF, NOW


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)  # the providers' behaviour, not the SQL
def test_storms_slow_and_lost_answers_and_an_outage_send_each_message_exactly_once(
    prefect_harness, providers, tmp_path, monkeypatch
):
    monkeypatch.setenv("ARREARS_PROVIDER_TIMEOUT_S", "1")
    monkeypatch.setenv("ARREARS_LOOKUP_DELAY_S", "1.5")
    monkeypatch.setenv("ARREARS_BREAKER_FAILURES", "12")  # the storms are not an outage
    get_settings.cache_clear()
    engine = make_engine(get_settings().resolved_database_url)
    generate_book(tmp_path / "book", loans=300, as_of=AS_OF, seed=11, bad_rows=False)
    import_book(engine=engine, directory=tmp_path / "book")
    providers.state.callbacks = False

    providers.inject("twilio", "429", count=8, retry_after_s=0.2)  # a storm: paced, not an outage
    providers.inject("sendgrid", "slow", count=2, delay_s=1.3)  # answered after our 1 s timeout
    providers.inject("twilio", "lost_response", count=2, delay_s=3)  # taken, the answer never comes in time
    providers.inject("sendgrid", "500", count=2)  # not taken: asked, then sent again
    state = daily_collection(as_of=AS_OF, now=NOW, return_state=True)
    assert state.is_completed(), state.message
    assert exactly_once(providers, engine) == [] and verify_day(engine, get_settings(), AS_OF) == []
    before = len(providers.sms) + len(providers.emails)
    assert before > 20, before

    # a whole-run outage the next day: the run ends Failed in seconds (the breaker), nothing lost
    monkeypatch.setenv("ARREARS_BREAKER_FAILURES", "4")
    get_settings.cache_clear()
    nxt = AS_OF.replace(day=AS_OF.day + 1)
    providers.inject("twilio", "500", count=10_000)
    providers.inject("sendgrid", "500", count=10_000)
    failed = daily_collection(as_of=nxt, now=NOW.replace(day=NOW.day + 1), return_state=True)
    assert failed.is_failed() and "not sent" in failed.message
    providers.state.faults.clear()
    again = daily_collection(as_of=nxt, now=NOW.replace(day=NOW.day + 1), return_state=True)
    assert again.is_completed(), again.message
    assert exactly_once(providers, engine) == [] and verify_day(engine, get_settings(), nxt) == []
    engine.dispose()
