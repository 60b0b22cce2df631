"""End to end, as operations run it: a real Prefect server process (its database on the local
PostgreSQL, as `arrears server --database-url` sets up) on a free loopback port, the
deployments registered from prefect.yaml, a worker, the failure automation applied. The daily
deployment is triggered through the API and fails on a provider outage; the automation notifies
ops; a retry through the API (what the UI's Retry does) finishes the day, and the fake providers
received every message exactly once."""

from __future__ import annotations

import collections
import json
import os
import re
import subprocess
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from arrears.db import make_engine
from arrears.demo.synthetic import generate_book
from arrears.fakeprovider.server import free_port
from arrears.ops.server import start_stack
from arrears.settings import get_settings
from arrears.steps.importing import import_book
from tests.messaging.test_day_of_reminders import AS_OF, NOW, keys_at_fake, sendable

FINAL = {"COMPLETED", "FAILED", "CRASHED", "CANCELLED"}


class Inbox:
    """A webhook receiver on 127.0.0.1: what the notification block posts."""

    def __init__(self) -> None:
        self.posts: list[dict[str, Any]] = []
        inbox = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                inbox.posts.append(json.loads(body or b"{}"))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_port}/ops"


def _wait(predicate: Any, timeout_s: float, what: str) -> Any:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(1)
    raise AssertionError(f"timed out after {timeout_s:.0f} s waiting for {what}")


@pytest.fixture
def prefect_database() -> Any:  # type: ignore[misc]
    """A fresh PostgreSQL database for the Prefect server itself (its URL for asyncpg)."""
    import psycopg

    from tests.conftest import _PG_PROBLEM, POSTGRES_URL

    if _PG_PROBLEM:
        pytest.skip(f"PostgreSQL not reachable: {_PG_PROBLEM}")
    name = f"prefect_e2e_{uuid.uuid4().hex[:8]}"
    admin = psycopg.connect(POSTGRES_URL, autocommit=True)
    admin.execute(f"CREATE DATABASE {name}")
    yield POSTGRES_URL.replace("postgresql://", "postgresql+asyncpg://", 1).rsplit("/", 1)[0] + f"/{name}"
    admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    admin.close()


@pytest.fixture
def stack(providers, prefect_database, tmp_path, monkeypatch):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("ARREARS_RETRY_ATTEMPTS", "2")
    get_settings.cache_clear()
    base = {
        **os.environ,
        "PREFECT_HOME": str(tmp_path / "prefect-home"),
        "PREFECT_WORKER_QUERY_SECONDS": "1",
        "PREFECT_SERVER_SERVICES_SCHEDULER_ENABLED": "false",  # no cron runs in the middle of the test
        "PREFECT_LOGGING_LEVEL": "INFO",
    }
    base.pop("PREFECT_API_URL", None)
    running = start_stack(free_port(), tmp_path / "logs", database_url=prefect_database, base_env=base)
    yield running
    running.stop()


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)  # a production-like stack: all on PostgreSQL
def test_the_daily_deployment_fails_on_an_outage_notifies_ops_and_a_retry_finishes_the_day_exactly_once(
    providers, stack, tmp_path
):
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import (
        ArtifactFilter,
        ArtifactFilterFlowRunId,
        TaskRunFilter,
        TaskRunFilterFlowRunId,
    )
    from prefect.settings import PREFECT_API_URL, temporary_settings
    from prefect.states import Scheduled

    from arrears.ops.automations import apply_automations, save_webhook_block

    engine = make_engine(get_settings().resolved_database_url)
    generate_book(tmp_path / "book", loans=300, as_of=AS_OF, seed=11, bad_rows=False)
    import_book(engine=engine, directory=tmp_path / "book")
    inbox = Inbox()
    providers.inject("twilio", "500", count=10_000)  # an SMS outage: the run cannot finish its work

    with temporary_settings({PREFECT_API_URL: stack.api_url}), get_client(sync_client=True) as client:
        save_webhook_block(inbox.url)
        assert len(apply_automations()) == 1
        names = {d.name for d in client.read_deployments()}
        assert {"daily", "dispatch", "backfill"} <= names
        deployment = client.read_deployment_by_name("daily-collection/daily")
        assert "arrears" in deployment.tags and deployment.schedules[0].schedule.timezone == "Asia/Shanghai"
        # `arrears run` on a server with the deployment triggers it (the worker runs it) and waits
        cli = subprocess.run(  # noqa: S603
            [sys.executable, "-m", "arrears", "run", "--as-of", AS_OF.isoformat(), "--now", NOW.isoformat()],
            env={**stack.env, "PREFECT_API_URL": stack.api_url}, capture_output=True, text=True, timeout=300,
            check=False,
        )  # fmt: skip
        assert cli.returncode == 1, cli.stdout + cli.stderr
        found = re.search(r"flow-run/([0-9a-f-]{36})\).*Retry in the UI, or prefect flow-run retry \1", cli.stderr)
        assert found, cli.stderr
        run = client.read_flow_run(uuid.UUID(found.group(1)))
        assert run.deployment_id == deployment.id and {"arrears", get_settings().environment} <= set(run.tags)

        def final_state() -> str | None:
            state = client.read_flow_run(run.id).state
            return state.type.value if state and state.type.value in FINAL else None

        assert _wait(final_state, 240, "the first run") == "FAILED"
        flow_run = client.read_flow_run(run.id)
        assert flow_run.name == f"collection-{AS_OF}" and "messages not sent" in (flow_run.state.message or "")
        post = _wait(lambda: inbox.posts, 90, "the failure notification")[0]
        assert f"collection-{AS_OF}" in post["text"] and "Failed" in post["text"]

        providers.state.faults.clear()  # the provider is back
        client.set_flow_run_state(run.id, Scheduled(name="AwaitingRetry"), force=True)  # the UI's Retry
        _wait(lambda: client.read_flow_run(run.id).run_count > 1 or None, 60, "the retry to start")
        assert _wait(final_state, 240, "the retried run") == "COMPLETED"
        assert client.read_flow_run(run.id).run_count == 2  # the same flow run, retried

        tasks = client.read_task_runs(task_run_filter=TaskRunFilter(flow_run_id=TaskRunFilterFlowRunId(any_=[run.id])))
        steps = {t.name.split(" ")[0] for t in tasks}
        assert {"snapshot", "classify", "guard", "queue-messages", "summary"} <= steps
        artifacts = client.read_artifacts(
            artifact_filter=ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=[run.id]))
        )
        assert "collection-summary" in {a.key for a in artifacts}

    sent = keys_at_fake(providers)
    assert sent == collections.Counter(sendable(engine)) and set(sent.values()) == {1}
    engine.dispose()
