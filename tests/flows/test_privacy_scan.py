"""No unmasked phone, email or ID number of the book in what a day's run leaves behind for
operators: Python and Prefect logs, the flow run's logs on the server, and its artifacts."""

from __future__ import annotations

import csv
import logging
import os
import re
import sqlite3
import time
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import (
    ArtifactFilter,
    ArtifactFilterFlowRunId,
    FlowRunFilter,
    FlowRunFilterStartTime,
    LogFilter,
    LogFilterFlowRunId,
)
from typer.testing import CliRunner

from arrears.cli import app
from arrears.db import make_engine
from arrears.demo.synthetic import generate_book
from arrears.fakeprovider.server import LocalProviders
from arrears.settings import get_settings
from arrears.steps.importing import import_book
from flows.daily import daily_collection
from tests.factories import day

AS_OF = day("2026-11-23")
NOW = datetime(2026, 11, 23, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai"))


def _secrets(book_dir) -> set[str]:  # type: ignore[no-untyped-def]
    """Every phone (as written and as digits), email and ID number of the book, its emergency
    contacts' phones included."""
    found: set[str] = set()
    rows = list(csv.DictReader((book_dir / "borrowers.csv").open(encoding="utf-8")))
    if (book_dir / "contacts.csv").exists():
        rows += csv.DictReader((book_dir / "contacts.csv").open(encoding="utf-8"))
    for row in rows:
        for value in (row.get("phone"), row.get("email"), row.get("id_number")):
            if value and len(value) > 5:  # a deliberately bad row's "x" is no one's data
                found.add(value)
        digits = re.sub(r"\D", "", row.get("phone") or "")
        if len(digits) >= 11:
            found.add(digits[-11:])  # the national number without +86
    return found


def _wait_for_logs(client, run_ids, enough):  # type: ignore[no-untyped-def]
    """The flow runs' logs on the server (they arrive in batches, a moment after a run ends)."""
    logs = []
    for _ in range(50):
        logs = client.read_logs(log_filter=LogFilter(flow_run_id=LogFilterFlowRunId(any_=run_ids)))
        if enough(logs):
            break
        time.sleep(0.2)
    return logs


def test_a_days_logs_and_artifacts_hold_no_unmasked_phone_email_or_id_number(
    prefect_harness, settings_env, providers, tmp_path, caplog
):  # type: ignore[no-untyped-def]
    generate_book(tmp_path / "book", loans=200, as_of=AS_OF, seed=3, bad_rows=False)
    import_book(engine=make_engine(settings_env), directory=tmp_path / "book")
    caplog.set_level(logging.DEBUG)
    state = daily_collection(as_of=AS_OF, now=NOW, return_state=True)
    assert state.is_completed(), state.message
    run_id = state.state_details.flow_run_id
    with get_client(sync_client=True) as client:
        logs = _wait_for_logs(
            client,
            [run_id],
            lambda logs: any("collection 2026-11-23" in (log.message or "") for log in logs),
        )
        artifacts = client.read_artifacts(
            artifact_filter=ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=[run_id]))
        )
    texts = [r.getMessage() for r in caplog.records] + [log.message for log in logs]
    texts += [str(a.data) for a in artifacts] + [str(a.description or "") for a in artifacts]
    assert len(logs) > 10 and artifacts  # there was something to scan
    everything = "\n".join(texts)
    secrets = _secrets(tmp_path / "book")
    assert len(secrets) > 300
    leaked = sorted(s for s in secrets if s in everything)
    where = [t[:300] for t in texts if leaked and leaked[0] in t]
    assert leaked == [], f"unmasked personal data in logs or artifacts: {leaked[:5]}, e.g. in {where[:2]}"
    assert re.search(r"\b1[3-9]\d\*{4}\d{4}\b|\+86\d{3}\*{4}\d{4}", everything) or "sms" in everything


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)  # the demo runs on the embedded default
def test_a_whole_demo_run_leaves_no_unmasked_phone_email_or_id_number_anywhere_operators_look(
    prefect_harness, settings_env, monkeypatch, caplog
):  # type: ignore[no-untyped-def]
    """`arrears demo` end to end (book, import with bad rows, five daily runs with messages,
    letters, cases, legal, reports): its output, every log line (Python and the server's), every
    artifact of its flow runs and every report it wrote hold no phone, email or ID number; and
    none of them, nor the database, holds a secret (data keys, provider credentials)."""
    monkeypatch.setenv("ARREARS_DAILY_REPORT", "true")
    get_settings.cache_clear()
    caplog.set_level(logging.DEBUG)
    fakes: list[LocalProviders] = []  # the demo's fake providers, for the credentials they issued
    start = LocalProviders.start
    monkeypatch.setattr(LocalProviders, "start", lambda self: fakes.append(start(self)) or fakes[-1])
    started = datetime.now(UTC) - timedelta(seconds=1)
    result = CliRunner().invoke(app, ["demo", "--loans", "300", "--days", "5", "--as-of", "2026-11-24"])
    assert result.exit_code == 0, result.output
    settings = get_settings()
    with get_client(sync_client=True) as client:
        runs = client.read_flow_runs(flow_run_filter=FlowRunFilter(start_time=FlowRunFilterStartTime(after_=started)))
        ids = [r.id for r in runs]
        logs = _wait_for_logs(client, ids, lambda logs: sum("report: " in (log.message or "") for log in logs) >= 5)
        artifacts = client.read_artifacts(artifact_filter=ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=ids)))
    assert len(ids) >= 5 and {"collection-summary", "collections-report", "print-batch"} <= {a.key for a in artifacts}
    reports = sorted(settings.resolved_reports_dir.glob("*/report.html"))
    assert len(reports) == 5
    texts = [("demo output", result.output)]
    texts += [(f"log {r.name}", r.getMessage()) for r in caplog.records]
    texts += [("server log", log.message) for log in logs]
    texts += [(f"artifact {a.key}", f"{a.data} {a.description or ''}") for a in artifacts]
    texts += [(str(path), path.read_text(encoding="utf-8")) for path in reports]
    assert len(caplog.records) > 100 and len(logs) > 50
    personal = _secrets(settings.var_dir / "demo-book")
    assert len(personal) > 500
    leaks = [(where, sorted(s for s in personal if s in text)[:3]) for where, text in texts]
    assert [(where, found) for where, found in leaks if found] == []

    (fake,) = fakes
    keys = [fake.fake.state.auth_token, fake.fake.state.api_key, *os.environ["ARREARS_DATA_KEYS"].split(",")]
    keys.append(os.environ["ARREARS_LOOKUP_KEY"])
    with sqlite3.connect(settings_env.removeprefix("sqlite:///")) as db:
        texts.append(("database", "\n".join(db.iterdump())))
    assert [where for where, text in texts if any(k in text for k in keys)] == []
