"""Run Arrears like operations do: a local Prefect server (UI on 127.0.0.1:4200), the process
work pool, the deployments of ``prefect.yaml``, and a worker — ``arrears server``.

The server's own database is SQLite under ``PREFECT_HOME`` by default, or PostgreSQL when
``database_url`` is given (``postgresql+asyncpg://user@host/db``). Each piece is a plain
function over subprocesses, so the end-to-end test drives the same code on a free port.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]
POOL = "arrears-process"


def prefect_bin() -> str:
    return str(Path(sys.executable).with_name("prefect"))


@dataclass
class Stack:
    """The processes of a running stack and the environment that points at it."""

    api_url: str
    env: dict[str, str]
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)
    names: list[str] = field(default_factory=list)  # of the processes, with their log files

    def add(self, name: str, process: subprocess.Popen[bytes]) -> None:
        self.processes.append(process)
        self.names.append(name)

    def exited(self) -> list[str]:
        """The processes that ended by themselves: name, log and exit code."""
        return [
            f"{n} (exit {p.returncode})"
            for n, p in zip(self.names, self.processes, strict=True)
            if p.poll() is not None
        ]

    def stop(self) -> None:
        for p in reversed(self.processes):
            if p.poll() is None:
                p.terminate()
        for p in reversed(self.processes):
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()


def stack_env(port: int, database_url: str | None = None, base: dict[str, str] | None = None) -> dict[str, str]:
    env = dict(base if base is not None else os.environ)
    env.update(
        PREFECT_API_URL=f"http://127.0.0.1:{port}/api",
        PREFECT_SERVER_ANALYTICS_ENABLED="false",
        PREFECT_WORKER_QUERY_SECONDS=env.get("PREFECT_WORKER_QUERY_SECONDS", "5"),
        ARREARS_HOME=str(ROOT),
        ARREARS_ENVIRONMENT=env.get("ARREARS_ENVIRONMENT", "local"),
        NO_PROXY="127.0.0.1,localhost",
        no_proxy="127.0.0.1,localhost",
    )
    if database_url:
        env["PREFECT_API_DATABASE_CONNECTION_URL"] = database_url
    return env


def start_server(port: int, env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    out = log.open("ab")
    return subprocess.Popen(  # noqa: S603 - our own venv's prefect
        [prefect_bin(), "server", "start", "--host", "127.0.0.1", "--port", str(port)],
        env=env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip


def wait_healthy(api_url: str, timeout_s: float = 120, process: subprocess.Popen[bytes] | None = None) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"the Prefect server exited with {process.returncode} before it was ready")
        try:
            if httpx.get(f"{api_url}/health", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise TimeoutError(f"the Prefect server at {api_url} was not ready within {timeout_s:.0f} s")


def _prefect(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603
        [prefect_bin(), *args], env=env, cwd=ROOT, capture_output=True, text=True, timeout=300, check=False
    )


def ensure_pool(env: dict[str, str]) -> None:
    if _prefect(["work-pool", "inspect", POOL], env).returncode != 0:
        done = _prefect(["work-pool", "create", POOL, "--type", "process"], env)
        if done.returncode != 0:
            raise RuntimeError(f"work pool {POOL} not created: {done.stdout}{done.stderr}")


def deploy_all(env: dict[str, str]) -> None:
    """Register every deployment of prefect.yaml (schedules included)."""
    done = _prefect(["--no-prompt", "deploy", "--all"], env)
    if done.returncode != 0:
        raise RuntimeError(f"prefect deploy --all failed: {done.stdout[-2000:]}{done.stderr[-2000:]}")


def start_worker(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    out = log.open("ab")
    return subprocess.Popen(  # noqa: S603
        [prefect_bin(), "worker", "start", "--pool", POOL, "--type", "process"],
        env=env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip


def start_stack(
    port: int, logs: Path, database_url: str | None = None, worker: bool = True, deploy: bool = True,
    base_env: dict[str, str] | None = None,
) -> Stack:  # fmt: skip
    """Server, pool, deployments and a worker; the caller stops the stack."""
    logs.mkdir(parents=True, exist_ok=True)
    env = stack_env(port, database_url, base_env)
    stack = Stack(env["PREFECT_API_URL"], env)
    try:
        server = start_server(port, env, logs / "server.log")
        stack.add(f"the Prefect server, log {logs / 'server.log'}", server)
        wait_healthy(stack.api_url, process=server)
        ensure_pool(env)
        if deploy:
            deploy_all(env)
        if worker:
            stack.add(f"the worker, log {logs / 'worker.log'}", start_worker(env, logs / "worker.log"))
    except BaseException:
        stack.stop()
        raise
    return stack
