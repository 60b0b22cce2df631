"""The day on a Dask cluster (``ARREARS_RUNNER=dask``, prefect-dask's ``DaskTaskRunner``): a local
cluster of two worker processes, PostgreSQL shared, produces exactly the positions, stage changes,
actions and message keys of the default runner — on the day a book is adopted and on the ordinary
(incremental) day after it."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import FlowFilter, FlowFilterName
from sqlalchemy import Engine, text

from arrears.db import make_engine, upgrade
from arrears.demo.synthetic import generate_book
from arrears.settings import get_settings
from arrears.steps.importing import import_book
from flows.daily import daily_collection
from tests.conftest import empty_database
from tests.messaging.test_day_of_reminders import AS_OF, NOW

QUERIES = {
    "positions": "SELECT p.as_of, l.loan_no, p.dpd, p.stage, p.risk, p.overdue_total, p.overdue_penalty,"
    " p.outstanding_principal, p.next_due_date FROM position p JOIN loan l ON l.id = p.loan_id",
    "stage changes": "SELECT s.as_of, l.loan_no, s.from_stage, s.to_stage, s.dpd FROM stage_change s"
    " JOIN loan l ON l.id = s.loan_id",
    "actions": "SELECT key, status, reason, stage, risk, arm FROM collection_action",
    "messages": "SELECT key, channel, recipient, body_text FROM outbox_message",
}


def _dump(engine: Engine) -> dict[str, list[tuple[str, ...]]]:
    with engine.connect() as conn:
        return {name: sorted(tuple(map(str, r)) for r in conn.execute(text(q))) for name, q in QUERIES.items()}


def _two_days(url: str, book_dir, monkeypatch: pytest.MonkeyPatch, runner: str) -> dict[str, list[tuple[str, ...]]]:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("ARREARS_DATABASE_URL", url)
    monkeypatch.setenv("ARREARS_RUNNER", runner)
    monkeypatch.setenv("ARREARS_DASK_WORKERS", "2")
    get_settings.cache_clear()
    engine = make_engine(url)
    try:
        upgrade(engine)
        import_book(engine=engine, directory=book_dir)
        for offset in (0, 1):  # adopting the book, then an ordinary day (incremental)
            state = daily_collection(as_of=AS_OF + timedelta(days=offset), now=NOW + timedelta(days=offset),
                                     return_state=True)  # fmt: skip
            assert state.is_completed(), state.message
        return _dump(engine)
    finally:
        engine.dispose()


@pytest.fixture
def second_database(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    yield from empty_database("postgresql", tmp_path_factory)


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)  # a cluster shares a database server
def test_a_day_on_a_two_worker_dask_cluster_equals_the_day_on_the_default_runner(
    prefect_harness, providers, db_url, second_database, tmp_path, monkeypatch
):
    generate_book(tmp_path / "book", loans=300, as_of=AS_OF, seed=11, bad_rows=False)
    by_pool = _two_days(db_url, tmp_path / "book", monkeypatch, "process")
    started = datetime.now().astimezone()
    on_dask = _two_days(second_database, tmp_path / "book", monkeypatch, "dask")
    for name in QUERIES:
        assert on_dask[name] == by_pool[name], name
    assert len(by_pool["positions"]) == 600 and by_pool["messages"]

    async def dask_task_runs() -> list[str]:
        async with get_client() as client:
            flows = FlowFilter(name=FlowFilterName(any_=["classify-on-dask", "plan-on-dask"]))
            runs = await client.read_task_runs(flow_filter=flows, limit=200)
        return [r.name for r in runs if r.start_time and r.start_time >= started]

    import asyncio

    names = asyncio.run(dask_task_runs())  # each batch a Prefect task that a Dask worker ran
    assert sum(n.startswith("classify loans") for n in names) == 6  # three batches of 100 a day: more than the workers
    assert sum(n.startswith("plan borrowers") for n in names) >= 2
