"""The real daily flow under a real (temporary) Prefect server, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import time

from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey, FlowRunFilter, FlowRunFilterId
from sqlalchemy import select
from typer.testing import CliRunner

from arrears.cli import app
from arrears.db import make_engine
from arrears.demo.synthetic import generate_book
from arrears.engine import position_for
from arrears.planning import PositionView, plan_actions
from arrears.policy import load_policy
from arrears.settings import get_settings
from arrears.steps.importing import import_book
from arrears.store.book import read_books
from flows.daily import daily_collection
from models import CollectionAction, CollectionRun, Position
from tests.factories import day

AS_OF = day("2026-11-23")


def _book(tmp_path, url: str, loans: int = 300):  # type: ignore[no-untyped-def]
    engine = make_engine(url)
    generate_book(tmp_path / "book", loans=loans, as_of=AS_OF, seed=11, bad_rows=False)
    import_book(engine=engine, directory=tmp_path / "book")
    return engine


def _rows(engine, stmt):  # type: ignore[no-untyped-def]
    with engine.connect() as conn:
        return conn.execute(stmt).all()


def test_daily_flow_classifies_every_loan_exactly_as_the_engine_and_plans_actions(
    prefect_harness, settings_env, providers, fresh_db, tmp_path, monkeypatch
):
    monkeypatch.setenv("ARREARS_WORKERS", "2")  # batches classified in the spawned process pool
    get_settings.cache_clear()
    engine = _book(tmp_path, settings_env)
    state = daily_collection(as_of=AS_OF, return_state=True)
    assert state.is_completed(), state.message
    summary = state.result()
    assert summary.loans == 300
    assert {"M1", "M2", "M3", "M3+", "current"} <= {stage for stage, _ in summary.by_stage_risk}

    stored = {r.loan_id: r for r in _rows(engine, select(Position).where(Position.as_of == AS_OF))}
    policy = load_policy()
    with engine.connect() as conn:
        books = read_books(conn, 1, 10**9, AS_OF)
    assert len(books) == len(stored) == 300
    expected = {b.loan_id: position_for(b, AS_OF, policy) for b in books}
    for loan_id, want in expected.items():
        got = stored[loan_id]
        assert (got.dpd, got.stage, got.risk, got.overdue_total, got.overdue_penalty) == (
            want.dpd,
            want.stage,
            want.risk,
            want.overdue_total,
            want.overdue_penalty,
        ), loan_id

    actions = _rows(engine, select(CollectionAction.key, CollectionAction.channel))
    views = [
        PositionView(b.loan_id, b.loan_no, b.borrower_id, p.stage, p.risk, p.dpd, p.next_due_date, p.overdue_total)
        for b in books
        if (p := expected[b.loan_id]).stage != "current"
    ]
    assert sorted(k for k, _ in actions) == [a.key for a in plan_actions(views, policy, AS_OF)]
    assert summary.actions == summary.new_actions == len(actions) > 0


def test_rerunning_a_day_plans_nothing_new_and_rewrites_the_same_positions(
    prefect_harness, settings_env, providers, fresh_db, tmp_path
):
    engine = _book(tmp_path, settings_env, loans=150)
    assert daily_collection(as_of=AS_OF, return_state=True).is_completed()
    positions = _rows(engine, select(Position).order_by(Position.loan_id))
    actions = _rows(engine, select(CollectionAction.id, CollectionAction.key).order_by(CollectionAction.id))

    state = daily_collection(as_of=AS_OF, return_state=True)
    assert state.is_completed()
    assert state.result().new_actions == 0
    assert state.result().actions == len(actions)
    assert _rows(engine, select(Position).order_by(Position.loan_id)) == positions
    assert _rows(engine, select(CollectionAction.id, CollectionAction.key).order_by(CollectionAction.id)) == actions
    runs = _rows(engine, select(CollectionRun.status, CollectionRun.summary))
    assert [r.status for r in runs] == ["completed", "completed"]
    assert json.loads(runs[1].summary)["loans"] == 150


def test_flow_run_is_named_by_day_and_publishes_the_summary_artifact(
    prefect_harness, settings_env, providers, fresh_db, tmp_path
):
    _book(tmp_path, settings_env, loans=120)
    state = daily_collection(as_of=AS_OF, return_state=True)
    flow_run_id = state.state_details.flow_run_id
    expected_steps = {"snapshot", "classify", "plan", "hand-to-channels", "track-cases", "escalate", "summary"}
    with get_client(sync_client=True) as client:
        run = client.read_flow_run(flow_run_id)
        artifacts = client.read_artifacts(
            artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=["collection-summary"])),
            flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[flow_run_id])),
        )
        for _ in range(50):  # task-run records arrive through Prefect's event pipeline, a moment later
            task_names = {
                t.name.split(" ")[0]
                for t in client.read_task_runs(flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[flow_run_id])))
            }
            if expected_steps <= task_names:
                break
            time.sleep(0.2)
    assert run.name == "collection-2026-11-23"
    assert len(artifacts) == 1
    markdown = artifacts[0].data
    assert "# Collection run 2026-11-23" in markdown and "| M3+ |" in markdown
    assert "@" not in markdown and "+86" not in markdown  # no personal data in the artifact
    assert expected_steps <= task_names
    assert sum(1 for t in task_names if t.startswith("classify")) >= 1


def test_loans_command_reports_each_loan_with_its_overdue_breakdown(
    prefect_harness, settings_env, providers, fresh_db, tmp_path
):
    _book(tmp_path, settings_env, loans=80)
    runner = CliRunner()
    run = runner.invoke(app, ["run", "--as-of", "2026-11-23"])
    assert run.exit_code == 0, run.output
    result = runner.invoke(app, ["loans", "--as-of", "2026-11-23", "--json", "--stage", "M3+"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert rows and all(r["stage"] == "M3+" and r["dpd"] > 90 for r in rows)
    first = rows[0]
    assert set(first) == {"loan_no", "borrower_id", "dpd", "stage", "risk", "overdue"}
    o = {k: float(v) for k, v in first["overdue"].items()}
    assert round(o["principal"] + o["interest"] + o["penalty"] + o["fees"], 2) == o["total"]
