"""Runs as first-class Prefect runs: tagged, retryable, and — when the server has the deployment —
started through it, so a CLI run is retried from the UI like a scheduled one.

A deployment run executes on the worker, whose environment was fixed when it started: the run
gets the CLI's ``ARREARS_*`` settings as job variables (never the secrets, nor a database URL
carrying a password: those stay the worker's own, or Secret blocks).
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlsplit

from prefect import tags
from prefect.client.orchestration import get_client
from prefect.deployments import run_deployment
from prefect.exceptions import ObjectNotFound
from prefect.settings import PREFECT_API_URL
from pydantic import SecretStr

from arrears.reports.status import retry_command
from arrears.settings import Settings

__all__ = ["DAILY", "deployment_available", "job_env", "retry_command", "run_tags", "tagged", "trigger"]

DAILY = "daily-collection/daily"


def run_tags(settings: Settings) -> list[str]:
    """The tags of every run of ours (the deployments carry the same, from prefect.yaml)."""
    return ["arrears", settings.environment]


@contextmanager
def tagged(settings: Settings) -> Iterator[None]:
    with tags(*run_tags(settings)):
        yield


def _secret_names(settings: Settings) -> set[str]:
    return {f"ARREARS_{name.upper()}" for name, f in type(settings).model_fields.items() if f.annotation is SecretStr}


def job_env(settings: Settings, environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """The CLI's ``ARREARS_*`` settings for a run on the worker, minus secrets and a database URL
    with a password in it."""
    environ = os.environ if environ is None else environ
    secrets = _secret_names(settings)
    env = {k: v for k, v in environ.items() if k.startswith("ARREARS_") and k not in secrets}
    env["ARREARS_VAR_DIR"] = str(settings.var_dir.resolve())  # the worker starts in the repository
    url = env.get("ARREARS_DATABASE_URL", "")
    if url and urlsplit(url).password:
        env.pop("ARREARS_DATABASE_URL")
    if "ARREARS_DATABASE_URL" not in env and "ARREARS_DATABASE_URL" not in environ:
        env["ARREARS_DATABASE_URL"] = settings.resolved_database_url  # the CLI's SQLite file, by absolute path
    return env


def deployment_available(name: str = DAILY) -> bool:
    """Is a Prefect server configured (PREFECT_API_URL) and does it hold the deployment?"""
    if not PREFECT_API_URL.value():
        return False
    try:
        with get_client(sync_client=True) as client:
            client.read_deployment_by_name(name)
    except ObjectNotFound:
        return False
    return True


def trigger(settings: Settings, parameters: dict[str, Any], name: str = DAILY, timeout_s: float | None = None) -> Any:
    """Start a run of the deployment with these parameters and the CLI's settings; wait for its
    final state (``timeout_s`` None: as long as it takes). Returns the flow run."""
    return run_deployment(
        name,
        parameters=parameters,
        job_variables={"env": job_env(settings)},
        tags=run_tags(settings),
        timeout=timeout_s,
    )
