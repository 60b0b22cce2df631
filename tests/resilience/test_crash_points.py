"""SIGKILL at every crash point of the day (``arrears.faults.POINTS``), then the day run again:
nothing lost, nothing sent twice, every letter archived once, every legal case once.

Each run is forked from a server that imported the CLI once (``arrears.forkserver``): a process
and session of its own, as ``subprocess`` would start it, four seconds sooner. The points are
taken in the day's order as a chain: each run is killed at the next point (the
work of the runs before it left undone where they died), and a last run finishes the day. Half the
points run on SQLite, the other half on PostgreSQL; ``bench/faults.py`` runs every point on both,
three times each, from a fresh book."""

from __future__ import annotations

import os
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from prefect.settings import PREFECT_API_URL
from sqlalchemy import text
from typer.testing import CliRunner

from arrears.cli import app
from arrears.db import make_engine
from arrears.demo.synthetic import generate_book
from arrears.fakeprovider.audit import exactly_once
from arrears.faults import POINTS
from arrears.forkserver import ForkServer
from arrears.settings import get_settings
from arrears.steps.importing import import_book
from arrears.steps.verify import verify_day
from arrears.store.runs import mark_crashed
from models.types import utcnow
from tests.factories import day

AS_OF = day("2026-11-23")
NOW = datetime(2026, 11, 23, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai"))


@pytest.fixture
def day_book(prefect_harness, providers, tmp_path, monkeypatch):  # type: ignore[no-untyped-def]
    """80 synthetic loans with a promise due for judgement."""
    monkeypatch.setenv("ARREARS_LETTER_CHUNK", "3")  # several chunks: a kill mid-chunk leaves some written
    get_settings.cache_clear()
    engine = make_engine(get_settings().resolved_database_url)
    generate_book(tmp_path / "book", loans=80, as_of=AS_OF, seed=5, bad_rows=False)
    _letter_loans(tmp_path / "book")
    import_book(engine=engine, directory=tmp_path / "book")
    with engine.connect() as conn:
        loan = conn.execute(text("SELECT loan_no FROM loan ORDER BY loan_no LIMIT 1")).scalar_one()
    promised = CliRunner().invoke(app, ["ptp", "add", loan, "--amount", "10.00", "--date", "2026-11-20",
                                        "--on", "2026-11-18"])  # fmt: skip
    assert promised.exit_code == 0, promised.output
    yield engine
    engine.dispose()


def _letter_loans(folder) -> None:  # type: ignore[no-untyped-def]
    """Four loans entering M2 and M3 on the day: their demand letters fill two chunks of three."""
    rows = {"borrowers.csv": [], "loans.csv": [], "installments.csv": []}
    for i, dpd in enumerate((31, 31, 61, 61), start=1):
        rows["borrowers.csv"].append(f"BL{i},信函{i},11010119900307{i:04d},1391234{i:04d},l{i}@example.cn,"
                                     f"上海市黄浦区{i}号,zh_CN,Asia/Shanghai,true,true")  # fmt: skip
        rows["loans.csv"].append(f"LL{i},BL{i},consumer,CNY,6000.00,0.18,0.0005,50.00,3,2026-01-05")
        rows["installments.csv"].append(f"LL{i},1,{AS_OF - timedelta(days=dpd)},6000.00,300.00,0.00")
    for name, lines in rows.items():
        with (folder / name).open("a", encoding="utf-8") as f:
            f.write("\n".join(lines) + "\n")


def run_day(server: ForkServer, crash_at: str | None, report: bool = False) -> int:
    """``arrears run`` in a process (group) of its own; killed at ``crash_at`` if given (the day's
    report is written only when asked: it is a point of its own, and costs seconds). Its exit code."""
    env = {**os.environ, "PREFECT_API_URL": PREFECT_API_URL.value(), "ARREARS_DAILY_REPORT": str(report).lower()}
    env.pop("ARREARS_CRASH_AT", None)
    if crash_at:
        env["ARREARS_CRASH_AT"] = crash_at
    return server.run(["run", "--as-of", str(AS_OF), "--now", NOW.isoformat(), "--here"], env)


def _chain(points: tuple[str, ...], engine, providers, server) -> None:  # type: ignore[no-untyped-def]
    providers.state.callbacks = False  # only the runs themselves settle what they sent
    for point in points:
        rc = run_day(server, point, report=point == "report.written")
        assert rc == -9, f"the run was not killed at {point}"
    assert run_day(server, None) == 0, "the last run did not finish the day"
    assert verify_day(engine, get_settings(), AS_OF) == []
    assert exactly_once(providers, engine) == []
    ttl = timedelta(seconds=get_settings().lease_ttl_s)
    with engine.begin() as conn:  # a run killed within a lease's TTL of the last run's end: found once it lapses
        mark_crashed(conn, utcnow() + ttl + timedelta(seconds=1), ttl)
    with engine.connect() as conn:
        runs = conn.execute(text("SELECT status FROM collection_run ORDER BY id")).scalars().all()
        left = conn.execute(text("SELECT COUNT(*) FROM outbox_message WHERE status = 'queued'")).scalar_one()
    assert runs == ["crashed"] * len(points) + ["completed"] and left == 0


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_a_day_killed_at_every_other_point_then_run_again_is_whole_on_sqlite(day_book, providers, fork_server):
    _chain(POINTS[0::2], day_book, providers, fork_server)


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_a_day_killed_at_the_other_points_then_run_again_is_whole_on_postgresql(day_book, providers, fork_server):
    _chain(POINTS[1::2], day_book, providers, fork_server)


def test_the_crash_points_cover_the_whole_day():
    assert len(POINTS) >= 20 and len(set(POINTS)) == len(POINTS)
    steps = {p.split(".")[0] for p in POINTS}
    assert steps >= {"snapshot", "promises", "classify", "cases", "plan", "guard", "channels", "calls", "escalate",
                     "letters", "mailhouse", "queue", "settle", "dispatch", "summary", "report"}  # fmt: skip
