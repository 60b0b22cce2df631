"""Backfill replays days in order and ends where running the days one by one ends."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from arrears.cli import app
from arrears.db import make_engine, upgrade
from arrears.demo.synthetic import generate_book
from arrears.steps.importing import import_book
from flows.backfill import backfill, days_between
from flows.daily import daily_collection

FIRST, LAST = date(2026, 11, 21), date(2026, 11, 23)
NOW = datetime(2026, 11, 23, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
STATE = (
    "SELECT p.as_of, l.loan_no, p.dpd, p.stage, p.risk, p.overdue_total FROM position p JOIN loan l ON l.id = p.loan_id"
    " ORDER BY p.as_of, l.loan_no",
    "SELECT s.as_of, l.loan_no, s.from_stage, s.to_stage FROM stage_change s JOIN loan l ON l.id = s.loan_id"
    " ORDER BY s.as_of, l.loan_no",
    "SELECT l.loan_no, c.opened_on, c.status, c.closed_on FROM collection_case c JOIN loan l ON l.id = c.loan_id"
    " ORDER BY l.loan_no, c.opened_on",
    "SELECT key, status FROM collection_action ORDER BY key",
    "SELECT g.reference, g.rule FROM legal_case g ORDER BY g.reference",
)


def _state(url: str) -> list[list[tuple]]:  # type: ignore[type-arg]
    with make_engine(url).connect() as conn:
        return [[tuple(r) for r in conn.execute(text(q))] for q in STATE]


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)  # a flow of flows: each day's SQL runs on both elsewhere
def test_a_backfill_ends_exactly_where_running_the_days_one_by_one_ends(
    prefect_harness, settings_env, providers, tmp_path, tmp_path_factory, monkeypatch
):  # type: ignore[no-untyped-def]
    from arrears.settings import get_settings
    from tests.conftest import empty_database

    generate_book(tmp_path / "book", loans=60, as_of=LAST, seed=5, bad_rows=False)
    import_book(engine=make_engine(settings_env), directory=tmp_path / "book")
    for day in days_between(FIRST, LAST):
        assert daily_collection(as_of=day, now=NOW, return_state=True).is_completed()
    one_by_one = _state(settings_env)

    kind = "postgresql" if settings_env.startswith("postgresql") else "sqlite"
    for other in empty_database(kind, tmp_path_factory):
        upgrade(make_engine(other))
        import_book(engine=make_engine(other), directory=tmp_path / "book")
        monkeypatch.setenv("ARREARS_DATABASE_URL", other)
        get_settings.cache_clear()
        state = backfill(first=FIRST, last=LAST, now=NOW, return_state=True)
        assert state.is_completed(), state.message
        assert [s.as_of for s in state.result()] == [FIRST, date(2026, 11, 22), LAST]
        assert _state(other) == one_by_one
        assert one_by_one[0] and one_by_one[3]  # positions and actions were compared, not two empty lists

    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey

    with get_client(sync_client=True) as client:
        tables = client.read_artifacts(
            artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=["roll-rates", "recovery-by-stage"]))
        )
    described = {(a.key, a.description) for a in tables}
    assert ("roll-rates", "Loans by stage on 2026-11-22 (rows) and on 2026-11-23 (columns)") in described
    assert any(key == "recovery-by-stage" and "2026-11-22 (excl.) .. 2026-11-23" in d for key, d in described)


def test_the_backfill_command_refuses_a_range_that_ends_before_it_starts(settings_env):  # type: ignore[no-untyped-def]
    result = CliRunner().invoke(app, ["backfill", "--from", "2026-11-23", "--to", "2026-11-01"])
    assert result.exit_code == 2
    with pytest.raises(ValueError, match="ends"):
        days_between(LAST, FIRST)
