"""Benchmark: the whole day — the real ``daily_collection`` flow — on a book of N loans.

    python -m bench.daily --loans N [--db sqlite|postgresql] [--letters on|off] [--incremental on|off]
                          [--runner process|dask] [--dask-workers K] [--reuse]

Builds (or, with --reuse, reuses) a book of N loans whose borrowers have phones, emails and
consent, about 5 % of them behind on day 1, then runs the flow for two consecutive days: day 1
adopts the book (every delinquent loan opens a case), day 2 is an ordinary day (about 1 % of the
loans pay). The fake providers run in a process of their own (no rate limits, no callbacks);
letters on or off (off: the policy's letter actions removed). Prints, per step (each task of the
flow): wall time, rows per second, peak RSS of the flow's processes during it; per day: the total,
the peak RSS, and Prefect's share (its server's CPU over all the CPU the day used).
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import yaml
from prefect.testing.utilities import prefect_test_harness
from sqlalchemy import text

from arrears.db import make_engine, upgrade
from arrears.policy import DEFAULT_POLICY_PATH
from arrears.settings import get_settings
from bench.book import build, payments_on
from bench.classify import _children, _cpu_s
from bench.scratch import POSTGRES_URL

DAY1 = date(2026, 11, 23)
SHANGHAI = ZoneInfo("Asia/Shanghai")
STEP = re.compile(r"^([a-z][a-z-]*?)(?: |$)")
ON_DASK = re.compile(r"-on-dask-\d+$")


class Sampler(threading.Thread):
    """Peak RSS (MB) of this process and its descendants, sampled every 0.2 s."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.samples: list[tuple[float, float]] = []
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.is_set():
            self.samples.append((time.time(), _tree_rss_mb(os.getpid())))
            time.sleep(0.2)

    def peak(self, start: float = 0.0, end: float = float("inf")) -> float:
        return max((mb for t, mb in self.samples if start <= t <= end), default=0.0)


def _rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def _tree_rss_mb(pid: int) -> float:
    """The flow process and its workers (not the Prefect server: it is reported on its own)."""
    return _rss_mb(pid) + sum(_rss_mb(c) for c, cmd in _children(pid).items() if "uvicorn" not in cmd)


def _server_pids() -> list[int]:
    return [pid for pid, cmd in _children(os.getpid()).items() if "uvicorn" in cmd or "prefect" in cmd]


def _policy(letters: bool, folder: Path) -> Path | None:
    if letters:
        return None
    data = yaml.safe_load(DEFAULT_POLICY_PATH.read_text(encoding="utf-8"))
    for by_risk in data["strategy"].values():
        for risk, actions in by_risk.items():
            kept = [a for a in actions if a["channel"] != "letter"]
            by_risk[risk] = [{k: v for k, v in a.items() if k != "attach_to"} for a in kept]
    path = folder / "policy-no-letters.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def _fake_providers(var: Path) -> tuple[subprocess.Popen[str], dict[str, str]]:
    env = {**os.environ, "ARREARS_VAR_DIR": str(var)}
    proc = subprocess.Popen(  # noqa: S603
        [sys.executable, "-m", "arrears", "fake-providers", "--port", "0", "--smtp-port", "0", "--no-callbacks"],
        env=env, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    exports: dict[str, str] = {}
    assert proc.stdout is not None
    while "ARREARS_SMTP_DSN_TOKEN" not in exports:
        line = proc.stdout.readline()
        if not line:
            raise RuntimeError("the fake providers did not start")
        if line.startswith("export "):
            key, _, value = line.removeprefix("export ").strip().partition("=")
            exports[key] = value.strip("'")
    return proc, exports


def _task_runs(started: float, ended: float) -> list[tuple[str, float, float]]:
    """(step, start, end) of each task run that started during the day — the flow's and its
    subflows' (the Dask steps) — as the Prefect server recorded them (the bench's own server)."""
    from prefect.client.orchestration import get_client  # noqa: PLC0415 - the harness's server
    from prefect.client.schemas.filters import TaskRunFilter, TaskRunFilterStartTime  # noqa: PLC0415

    after = datetime.fromtimestamp(started).astimezone()
    window = TaskRunFilter(start_time=TaskRunFilterStartTime(after_=after))
    runs: list = []
    with get_client(sync_client=True) as client:
        while True:  # the server pages at 200
            page = client.read_task_runs(task_run_filter=window, limit=200, offset=len(runs))
            runs.extend(page)
            if len(page) < 200:
                break
    out = []
    for r in runs:
        if r.start_time and r.end_time and r.start_time.timestamp() <= ended:
            m = STEP.match(r.name)
            step = ON_DASK.sub("", m.group(1) if m else r.name)  # a Dask step's subflow counts in its step
            out.append((step, r.start_time.timestamp(), r.end_time.timestamp()))
    return out


def _first(item: tuple[str, list[float]]) -> float:
    return item[1][0]


def run_day(day: date, loans: int, sampler: Sampler, dask: Any = None, fake_pid: int = 0,
            engine: Any = None) -> dict[str, object]:  # fmt: skip
    from flows.daily import daily_collection  # noqa: PLC0415 - after the settings are in the environment

    get_settings.cache_clear()
    servers = _server_pids()
    cpu0 = {p: _cpu_s(p) for p in [os.getpid(), *servers]}
    fake0 = _cpu_s(fake_pid) if fake_pid else 0.0
    own0 = os.times()
    started = time.time()
    state = daily_collection(as_of=day, now=datetime(day.year, day.month, day.day, 9, 0, tzinfo=SHANGHAI),
                             return_state=True)  # fmt: skip
    ended = time.time()
    own1 = os.times()
    server_cpu = sum(_cpu_s(p) - cpu0.get(p, 0.0) for p in servers)
    fake_cpu = _cpu_s(fake_pid) - fake0 if fake_pid else 0.0
    messages = 0
    if engine is not None:
        with engine.connect() as conn:
            q = "SELECT COUNT(*) FROM outbox_message WHERE as_of = :d AND status = 'sent'"
            messages = int(conn.execute(text(q), {"d": day}).scalar_one())
    ours = (
        (own1.user - own0.user)
        + (own1.system - own0.system)
        + (own1.children_user - own0.children_user)
        + (own1.children_system - own0.children_system)
    )
    steps: dict[str, list[float]] = defaultdict(lambda: [float("inf"), 0.0, 0])
    for step, start, end in _task_runs(started, ended):
        s = steps[step]
        s[0], s[1], s[2] = min(s[0], start), max(s[1], end), s[2] + 1
    return {
        "by_worker": _by_worker(dask.get_task_stream(start=started, stop=ended)) if dask is not None else {},
        "state": state.type.value, "message": state.message, "seconds": ended - started,
        "peak_mb": sampler.peak(started, ended), "prefect_share": server_cpu / max(server_cpu + ours, 1e-9),
        "steps": {k: (v[1] - v[0], int(v[2]), sampler.peak(v[0], v[1])) for k, v in sorted(steps.items(), key=_first)},
        "loans": loans, "messages": messages, "fake_cpu": fake_cpu,
    }  # fmt: skip


def _by_worker(stream: list[dict[str, Any]]) -> dict[str, tuple[int, float]]:
    """Dask's own task stream for the day: tasks and compute seconds per worker."""
    out: dict[str, list[float]] = defaultdict(lambda: [0, 0.0])
    for t in stream:
        w = out[t["worker"]]
        w[0] += 1
        w[1] += sum(s["stop"] - s["start"] for s in t["startstops"] if s["action"] == "compute")
    return {k: (int(v[0]), v[1]) for k, v in sorted(out.items())}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--loans", type=int, default=100_000)
    parser.add_argument("--db", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--letters", choices=["on", "off"], default="off")
    parser.add_argument("--incremental", choices=["on", "off"], default="on")
    parser.add_argument("--runner", choices=["process", "dask"], default="process")
    parser.add_argument("--dask-workers", type=int, default=2)
    parser.add_argument("--reuse", action="store_true", help="keep the built book between runs (day runs are reset)")
    args = parser.parse_args()
    var = Path(tempfile.mkdtemp(prefix="bench-daily-"))
    if args.db == "sqlite":
        path = Path(f"bench/out/daily-{args.loans}.db").resolve()
        path.parent.mkdir(parents=True, exist_ok=True)
        if not args.reuse:
            for suffix in ("", "-wal", "-shm"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)
        url = f"sqlite:///{path}"
    else:
        schema = f"bench_daily_{args.loans}"
        admin = make_engine(POSTGRES_URL)
        with admin.begin() as conn:
            if not args.reuse:
                conn.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
            conn.execute(text(f"CREATE SCHEMA IF NOT EXISTS {schema}"))
        url = f"{POSTGRES_URL}?options=-csearch_path%3D{schema}"
    engine = make_engine(url)
    upgrade(engine)
    with engine.connect() as conn:
        have = conn.execute(text("SELECT COUNT(*) FROM loan")).scalar_one()
    if have != args.loans:
        print(f"building {args.loans:,} loans ...", file=sys.stderr)
        t = time.perf_counter()
        build(engine, args.loans, DAY1)
        print(f"built in {time.perf_counter() - t:.0f} s", file=sys.stderr)
    else:
        _reset_days(engine)
    fake, exports = _fake_providers(var)
    policy = _policy(args.letters == "on", var)
    os.environ.update({
        **exports, "ARREARS_DATABASE_URL": url, "ARREARS_VAR_DIR": str(var), "ARREARS_SMS_RATE_PER_S": "0",
        "ARREARS_EMAIL_RATE_PER_S": "0", "ARREARS_ALIYUN_RATE_PER_S": "0", "ARREARS_SMTP_RATE_PER_S": "0",
        "ARREARS_DAILY_REPORT": "false", "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "ARREARS_INCREMENTAL": "true" if args.incremental == "on" else "false",
        **({"ARREARS_POLICY_PATH": str(policy)} if policy else {}),
    })  # fmt: skip
    sampler = Sampler()
    sampler.start()
    # --runner dask: the same two days on the process pool first, then on a local Dask cluster of
    # --dask-workers processes (started here, so its task stream can be read), in one run
    runners = ["process", "dask"] if args.runner == "dask" else ["process"]
    results: dict[str, list[tuple[date, dict[str, object]]]] = {}
    try:
        with prefect_test_harness(server_startup_timeout=120):
            for runner in runners:
                if runner != runners[0]:
                    _reset_days(engine)
                with _cluster(runner, args.dask_workers) as dask:
                    results[runner] = []
                    for day in (DAY1, DAY1 + timedelta(days=1)):
                        if day != DAY1:
                            paid = payments_on(engine, day, 0.01)
                            print(f"{paid:,} payments imported for {day}", file=sys.stderr)
                        results[runner].append((day, run_day(day, args.loans, sampler, dask, fake.pid, engine)))
    finally:
        sampler.done.set()
        fake.terminate()
    for runner, days in results.items():
        label = f"{args.loans:,} loans, {args.db}, letters {args.letters}, incremental {args.incremental}, {runner}"
        for day, r in days:
            _print_day(day, label, r, args.loans)
    if len(results) == 2:
        print("\n## Dask over the process pool (same run, same book)\n| day | step | process s | dask s | ratio |")
        print("|---|---|---:|---:|---:|")
        for (day, pool), (_, dask_day) in zip(results["process"], results["dask"], strict=True):
            for step in ("classify", "plan"):
                a, b = pool["steps"].get(step, (0,))[0], dask_day["steps"].get(step, (0,))[0]  # type: ignore[attr-defined]
                print(f"| {day} | {step} | {a:.2f} | {b:.2f} | {b / a if a else 0:.2f}x |")


def _print_day(day: date, label: str, r: dict[str, Any], loans: int) -> None:
    print(f"\n## {day} ({'adoption' if day == DAY1 else 'ordinary day'}), {label}: {r['state']}")
    share = r["prefect_share"]
    print(f"total {r['seconds']:.1f} s, peak RSS {r['peak_mb']:.0f} MB, Prefect's CPU share {share:.1%}")
    print("| step | wall s | task runs | loans/s | peak RSS MB |\n|---|---:|---:|---:|---:|")
    for step, (wall, n, peak) in r["steps"].items():
        print(f"| {step} | {wall:.2f} | {n} | {loans / wall if wall > 0 else 0:,.0f} | {peak:.0f} |")
    if "send" in r["steps"]:
        wall = r["steps"]["send"][0]
        print(
            f"send: {r['messages']:,} messages sent, {r['messages'] / wall:,.0f} per s; the fake providers' process "
            f"used {r['fake_cpu']:.1f} CPU s during the day ({r['fake_cpu'] / wall:.0%} of the send step's wall time)"
        )
    if r["by_worker"]:
        print("Dask task stream: " + ", ".join(f"{w}: {n} tasks, {s:.1f} s" for w, (n, s) in r["by_worker"].items()))
    if r["state"] != "COMPLETED":
        print(f"message: {r['message']}")


@contextmanager
def _cluster(runner: str, workers: int) -> Iterator[Any]:
    """For the Dask runner, a local cluster whose address the flow is given, and a client on it."""
    if runner != "dask":
        os.environ["ARREARS_RUNNER"] = "process"
        yield None
        return
    from distributed import Client, LocalCluster  # noqa: PLC0415

    with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None) as cluster, \
            Client(cluster) as client:  # fmt: skip
        os.environ.update({"ARREARS_RUNNER": "dask", "ARREARS_DASK_ADDRESS": cluster.scheduler_address})
        client.get_task_stream(start=time.time())  # installs the scheduler's task-stream plugin: it records from now
        try:
            yield client
        finally:
            os.environ.pop("ARREARS_DASK_ADDRESS", None)


def _reset_days(engine) -> None:  # type: ignore[no-untyped-def]
    """A reused book goes back to before day 1: everything the runs wrote is removed."""
    tables = ("message_event", "contact_decision", "case_event", "legal_task", "legal_case", "call_task",
              "outbox_message", "letter", "collection_action", "stage_change", "collection_case", "position",
              "collection_run", "run_lease", "experiment_arm")  # fmt: skip
    with engine.begin() as conn:
        for table in tables:
            conn.execute(text(f"DELETE FROM {table}"))  # noqa: S608
        conn.execute(text("DELETE FROM payment WHERE reference LIKE 'D%'"))


if __name__ == "__main__":
    main()
