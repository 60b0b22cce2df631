"""The database in trouble: PostgreSQL terminating the run's connections mid-dispatch (the shared
server stays up), and a SQLite file locked by another writer. The run recovers or fails cleanly;
a re-run completes without a message sent twice."""

from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import text

from arrears.db import make_engine
from arrears.demo.synthetic import generate_book
from arrears.fakeprovider.audit import exactly_once
from arrears.settings import get_settings
from arrears.steps.importing import import_book
from arrears.steps.verify import verify_day
from flows.daily import daily_collection
from tests.resilience.test_crash_points import AS_OF, NOW, run_day


@pytest.fixture
def book(prefect_harness, providers, tmp_path):  # type: ignore[no-untyped-def]
    engine = make_engine(get_settings().resolved_database_url)
    generate_book(tmp_path / "book", loans=120, as_of=AS_OF, seed=5, bad_rows=False)
    import_book(engine=engine, directory=tmp_path / "book")
    yield engine
    engine.dispose()


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_connections_terminated_mid_dispatch_are_survived_and_nothing_is_sent_twice(
    book, providers, monkeypatch, fork_server
):
    monkeypatch.setenv("ARREARS_DB_DROP_AT", "dispatch.claimed")  # the run's own backends, after its first claim
    first = run_day(fork_server, None)
    assert first in (0, 1)  # it reconnected and finished, or failed cleanly (no traceback kill)
    monkeypatch.delenv("ARREARS_DB_DROP_AT")
    assert run_day(fork_server, None) == 0
    assert verify_day(book, get_settings(), AS_OF) == []
    assert exactly_once(providers, book) == []


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_a_sqlite_file_locked_by_another_writer_makes_the_run_wait_not_fail(book, providers):
    locker = make_engine(get_settings().resolved_database_url)
    held = threading.Event()

    def hold() -> None:
        with locker.connect() as conn:
            conn.exec_driver_sql("BEGIN IMMEDIATE")  # another writer holds the write lock ...
            conn.execute(text("UPDATE loan SET grace_days = grace_days WHERE id = 1"))
            held.set()
            time.sleep(4)  # ... for four seconds (busy_timeout is 60 s)
            conn.exec_driver_sql("COMMIT")

    thread = threading.Thread(target=hold)
    thread.start()
    held.wait(10)
    state = daily_collection(as_of=AS_OF, now=NOW, return_state=True)
    thread.join()
    locker.dispose()
    assert state.is_completed(), state.message
    assert verify_day(book, get_settings(), AS_OF) == []
    assert exactly_once(providers, book) == []
