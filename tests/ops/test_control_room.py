"""What an ops engineer sees of a day that could not finish: the step that failed is Failed in
the run's graph, the summary says so in its first line with what to do, the run carries our tags
and INFO logs, a provider outage ends the run in seconds (circuit breaker), and the retry command
the CLI prints finishes the day exactly once. Asserted through the Prefect client."""

from __future__ import annotations

import collections
import logging
import os
import re
import subprocess
import sys
from pathlib import Path
from uuid import UUID

import pytest

from arrears.settings import get_settings
from tests.messaging.test_day_of_reminders import AS_OF, NOW, book, keys_at_fake, sendable

__all__ = ["book"]  # the fixture
ROOT = Path(__file__).resolve().parents[2]


def _cli(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, env=env, cwd=ROOT, capture_output=True, text=True, timeout=300, check=False)  # noqa: S603


def _summary_of(client, flow_run_id: UUID) -> str:  # type: ignore[no-untyped-def]
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId, ArtifactFilterKey

    found = client.read_artifacts(
        artifact_filter=ArtifactFilter(
            flow_run_id=ArtifactFilterFlowRunId(any_=[flow_run_id]), key=ArtifactFilterKey(any_=["collection-summary"])
        )
    )
    return str(sorted(found, key=lambda a: a.created)[-1].data)


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_a_cli_run_in_an_outage_fails_at_its_send_step_says_so_first_and_the_printed_retry_finishes_it(
    prefect_harness, providers, book, fork_server
):
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import LogFilter, LogFilterFlowRunId, TaskRunFilter, TaskRunFilterFlowRunId
    from prefect.settings import PREFECT_API_URL

    breaker, threads = 3, 2
    env = {
        **os.environ, "PREFECT_API_URL": str(PREFECT_API_URL.value()), "ARREARS_WORKERS": "1",
        "ARREARS_BREAKER_FAILURES": str(breaker), "ARREARS_DISPATCH_THREADS": str(threads),
    }  # fmt: skip
    providers.inject("twilio", "500", count=10_000)  # SMS down for the whole run
    done = fork_server.capture(["run", "--as-of", str(AS_OF), "--now", NOW.isoformat()], env)
    assert done.returncode == 1, done.stderr
    sms_planned = sum(1 for k in sendable(book) if ":sms:" in k)

    # the circuit breaker: a handful of calls, not retry_attempts (6) per message
    calls = [r for r in providers.state.requests if r[0] == "twilio" and r[1] == "POST Messages"]
    assert len(calls) <= breaker + threads < sms_planned

    retry = re.search(r"(prefect flow-run retry (\S+) --entrypoint flows/daily.py:daily_collection)", done.stderr)
    assert retry, done.stderr
    command, run_id = retry.group(1), UUID(retry.group(2))
    with get_client(sync_client=True) as client:
        run = client.read_flow_run(run_id)
        assert run.state.is_failed() and {"arrears", get_settings().environment} <= set(run.tags)
        tasks = client.read_task_runs(task_run_filter=TaskRunFilter(flow_run_id=TaskRunFilterFlowRunId(any_=[run_id])))
        failed = {t.name for t in tasks if t.state.is_failed()}
        assert failed and all(name.startswith("send sms") for name in failed), failed
        assert any(t.name.startswith("send email") and t.state.is_completed() for t in tasks)

        lines = _summary_of(client, run_id).splitlines()
        assert lines[0] == f"# Collection run {AS_OF}"
        status = lines[2]
        assert status.startswith(f"**FAILED: {sms_planned} SMS not sent — provider unavailable"), status
        assert f"retry: `{command}` or `arrears run --as-of {AS_OF}`" in status
        assert "## Failures, and what to do" in lines

        logs = client.read_logs(log_filter=LogFilter(flow_run_id=LogFilterFlowRunId(any_=[run_id])))
        assert any(log.level == logging.INFO and "messages not sent" not in log.message for log in logs)
        assert any(log.level == logging.INFO and log.message.startswith(f"collection {AS_OF}:") for log in logs)

    providers.state.faults.clear()  # the provider is back: the exact printed command
    again = _cli([str(Path(sys.executable).with_name("prefect")), *command.split()[1:]], env)
    assert again.returncode == 0, again.stdout + again.stderr
    with get_client(sync_client=True) as client:
        run = client.read_flow_run(run_id)
        assert run.state.is_completed() and run.run_count == 2  # the same flow run, retried
        assert _summary_of(client, run_id).splitlines()[2].startswith("**OK")
    assert keys_at_fake(providers) == collections.Counter(sendable(book))
