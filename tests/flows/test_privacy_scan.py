"""No unmasked phone, email or ID number of the book in what a day's run leaves behind for
operators: Python and Prefect logs, the flow run's logs on the server, and its artifacts."""

from __future__ import annotations

import csv
import logging
import re
import time
from datetime import datetime
from zoneinfo import ZoneInfo

from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId, LogFilter, LogFilterFlowRunId

from arrears.book.load import import_book
from arrears.db import make_engine
from arrears.synthetic import generate_book
from flows.daily import daily_collection
from tests.factories import day

AS_OF = day("2026-11-23")
NOW = datetime(2026, 11, 23, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai"))


def _secrets(book_dir) -> set[str]:  # type: ignore[no-untyped-def]
    """Every phone (as written and as digits), email and ID number of the book."""
    found: set[str] = set()
    with (book_dir / "borrowers.csv").open(encoding="utf-8") as f:
        for row in csv.DictReader(f):
            for value in (row["phone"], row["email"], row["id_number"]):
                if value:
                    found.add(value)
            digits = re.sub(r"\D", "", row["phone"] or "")
            if len(digits) >= 11:
                found.add(digits[-11:])  # the national number without +86
    return found


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
        for _ in range(50):  # logs reach the server in batches, a moment after the run ends
            logs = client.read_logs(log_filter=LogFilter(flow_run_id=LogFilterFlowRunId(any_=[run_id])))
            if any("summary" in (log.message or "") or "collection 2026-11-23" in log.message for log in logs):
                break
            time.sleep(0.2)
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
