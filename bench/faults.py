"""Benchmark of faults: the resilience suite's cases (tests/resilience) with larger counts, each
trial from a fresh database and book, and a table for RELIABILITY.md.

    python -m bench.faults [--trials 3] [--db sqlite,postgresql] [--loans 120] [--cases crash,db,provider,concurrent]

Per trial: a day is run in a process of its own and hit by the fault (SIGKILL at a crash point —
the n-th time it is reached, n = the trial's number —, PostgreSQL terminating its connections, a
full letters folder, a provider storm or outage, two runs of the day at once); then the day is run
again and checked: every message received by the (fake) providers exactly once, none left
`sending` or queued, every letter archived once with its sha256, every legal case once. ``lost``
counts messages recorded sent but never received, messages still waiting and letters missing;
``duplicated`` counts receipts beyond the first.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from prefect.settings import PREFECT_API_URL
from prefect.testing.utilities import prefect_test_harness
from sqlalchemy import Engine, text

from arrears.db import make_engine, upgrade
from arrears.demo.synthetic import generate_book
from arrears.fakeprovider.audit import exactly_once, received_keys, sent_keys
from arrears.fakeprovider.server import LocalProviders
from arrears.faults import POINTS
from arrears.forkserver import ForkServer
from arrears.settings import Settings, get_settings
from arrears.steps.importing import import_book
from arrears.steps.verify import verify_day
from bench.scratch import scratch_database

AS_OF = date(2026, 11, 23)
NOW = datetime(2026, 11, 23, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai"))


FORK_SERVER: list[ForkServer] = []  # set by main: a run forked from a warm process starts in ~0.3 s, not ~4


@dataclass
class Line:
    case: str
    checked: str
    command: str
    trials: int = 0
    lost: int = 0
    duplicated: int = 0
    notes: list[str] = field(default_factory=list)

    @property
    def verdict(self) -> str:
        return "pass" if not (self.lost or self.duplicated or self.notes) else "FAIL"


@dataclass
class Trial:
    engine: Engine
    providers: LocalProviders
    env: dict[str, str]
    var: Path

    def run(self, extra: dict[str, str] | None = None, wait: bool = True) -> subprocess.Popen[bytes] | int:
        """The day as ``arrears run``: forked warm by the fork server when waited for, else a process."""
        env = {**self.env, **(extra or {})}
        argv = ["run", "--as-of", str(AS_OF), "--now", NOW.isoformat(), "--here"]
        if wait and FORK_SERVER:
            return FORK_SERVER[0].run(argv, env, timeout=600)
        args = [sys.executable, "-m", "arrears", *argv]
        proc = subprocess.Popen(  # noqa: S603
            args, env=env, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        return proc.wait(timeout=600) if wait else proc

    def outcome(self) -> tuple[int, int, list[str]]:
        """(lost, duplicated, problems) of the day as it stands."""
        problems = verify_day(self.engine, Settings(), AS_OF)
        problems += exactly_once(self.providers.fake, self.engine)
        got, sent = received_keys(self.providers.fake), sent_keys(self.engine)
        with self.engine.connect() as conn:
            waiting = conn.execute(
                text("SELECT COUNT(*) FROM outbox_message WHERE status IN ('queued', 'sending')")
            ).scalar_one()
            letters_missing = conn.execute(
                text("SELECT COUNT(*) FROM collection_action a WHERE a.channel = 'letter' AND a.status = 'planned'"
                     " AND NOT EXISTS (SELECT 1 FROM letter t WHERE t.key = a.key AND t.status = 'rendered')")
            ).scalar_one()  # fmt: skip
        lost = len(set(sent) - set(got)) + int(waiting) + int(letters_missing)
        duplicated = sum(n - 1 for n in got.values() if n > 1)
        return lost, duplicated, problems


def trial(kind: str, loans: int, body: Callable[[Trial], None], name: str) -> tuple[int, int, list[str]]:
    """A fresh database and book, the fake providers and the webhook app; ``body`` faults and re-runs the day."""
    with scratch_database(kind, f"faults-{name}") as url, tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(url)
        upgrade(engine)
        var = Path(tmp)
        generate_book(var / "book", loans=loans, as_of=AS_OF, seed=5, bad_rows=False)
        env = {
            **os.environ, "PREFECT_API_URL": PREFECT_API_URL.value(), "ARREARS_DATABASE_URL": url,
            "ARREARS_VAR_DIR": str(var), "ARREARS_WORKERS": "2", "ARREARS_LETTER_WORKERS": "2",
            "ARREARS_LETTER_CHUNK": "3", "ARREARS_DAILY_REPORT": "true", "ARREARS_SMS_RATE_PER_S": "0",
            "ARREARS_EMAIL_RATE_PER_S": "0", "ARREARS_LEASE_TTL_S": "3", "ARREARS_LOOKUP_DELAY_S": "0.3",
            "ARREARS_RETRY_BASE_S": "0.05", "ARREARS_RETRY_MAX_S": "0.5", "ARREARS_PROVIDER_TIMEOUT_S": "2",
        }  # fmt: skip
        os.environ.update({k: v for k, v in env.items() if k.startswith("ARREARS_")})  # this trial's settings
        get_settings.cache_clear()
        import_book(engine=engine, directory=var / "book")
        local = LocalProviders(engine).start()
        local.fake.state.callbacks = False
        t = Trial(engine, local, {**env, **local.env()}, var)
        try:
            body(t)
            return t.outcome()
        finally:
            local.stop()
            engine.dispose()


def crash_case(point: str, n: int) -> Callable[[Trial], None]:
    def body(t: Trial) -> None:
        t.run({"ARREARS_CRASH_AT": f"{point}:{n}"})
        rc = t.run()
        if rc != 0:
            raise RuntimeError(f"the run after the crash at {point}:{n} ended {rc}")

    return body


def db_drop_case(point: str) -> Callable[[Trial], None]:
    def body(t: Trial) -> None:
        t.run({"ARREARS_DB_DROP_AT": point})
        t.run()

    return body


def concurrent_case(t: Trial) -> None:
    first, second = t.run(wait=False), t.run(wait=False)
    assert not isinstance(first, int) and not isinstance(second, int)
    first.wait(timeout=600)
    second.wait(timeout=600)
    t.run()


def provider_case(t: Trial) -> None:
    fake = t.providers.fake
    fake.inject("twilio", "429", count=40, retry_after_s=0.1)
    fake.inject("sendgrid", "500", count=6)
    fake.inject("twilio", "lost_response", count=4, delay_s=3)
    fake.inject("sendgrid", "drop_after", count=3)
    fake.inject("twilio", "drop", count=3)
    t.run()
    fake.inject("twilio", "500", count=100_000)
    t.run()  # an outage: fails fast (the breaker), nothing lost
    fake.state.faults.clear()
    t.run()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--trials", type=int, default=3)
    parser.add_argument("--db", default="sqlite,postgresql")
    parser.add_argument("--loans", type=int, default=120)
    parser.add_argument("--cases", default="crash,db,provider,concurrent")
    parser.add_argument("--points", default=",".join(POINTS))
    args = parser.parse_args()
    kinds, cases = args.db.split(","), args.cases.split(",")
    if not os.environ.get("ARREARS_DATA_KEYS"):  # throwaway keys for the scratch books' ID numbers
        from cryptography.fernet import Fernet  # noqa: PLC0415

        os.environ["ARREARS_DATA_KEYS"] = Fernet.generate_key().decode()
        os.environ["ARREARS_LOOKUP_KEY"] = Fernet.generate_key().decode()
    lines: list[Line] = []
    started = time.monotonic()
    with prefect_test_harness(server_startup_timeout=120), ForkServer(
        {**os.environ, "PREFECT_API_URL": str(PREFECT_API_URL.value())}
    ) as server:
        FORK_SERVER.append(server)
        for kind in kinds:
            if "crash" in cases:
                for point in args.points.split(","):
                    line = Line(f"SIGKILL at `{point}` ({kind})", "each message once, letters, legal, no `sending`",
                                f"python -m bench.faults --cases crash --points {point} --db {kind}")  # fmt: skip
                    for n in range(1, args.trials + 1):
                        _add(line, lambda: trial(kind, args.loans, crash_case(point, n), point))  # noqa: B023
                    lines.append(line)
                    print(_row(line), flush=True)
            if "db" in cases and kind == "postgresql":
                for point in ("plan.committed", "queue.committed", "dispatch.claimed", "dispatch.settled"):
                    line = Line(
                        f"connections terminated at `{point}` ({kind})", "recovers or fails cleanly; rerun whole",
                        f"python -m bench.faults --cases db --db {kind}",
                    )
                    for _ in range(args.trials):
                        _add(line, lambda: trial(kind, args.loans, db_drop_case(point), point))  # noqa: B023
                    lines.append(line)
                    print(_row(line), flush=True)
            for case, body, checked in (
                ("provider", provider_case, "429 storm, 500s, lost answers, drops, then an outage and a rerun"),
                ("concurrent", concurrent_case, "two runs of the day at once, then a third"),
            ):
                if case in cases:
                    line = Line(f"{case} ({kind})", checked, f"python -m bench.faults --cases {case} --db {kind}")
                    for _ in range(args.trials):
                        _add(line, lambda: trial(kind, args.loans, body, case))  # noqa: B023
                    lines.append(line)
                    print(_row(line), flush=True)
    print(f"\n{len(lines)} cases, {sum(x.trials for x in lines)} trials in {time.monotonic() - started:.0f} s\n")
    print("| case | trials | checked | lost | duplicated | verdict | command |\n|---|---:|---|---:|---:|---|---|")
    for line in lines:
        print(_row(line))
        for note in line.notes[:3]:
            print(f"|  ↳ {note} | | | | | | |")


def _add(line: Line, run: Callable[[], tuple[int, int, list[str]]]) -> None:
    try:
        lost, duplicated, problems = run()
    except Exception as err:  # noqa: BLE001 - a trial that breaks is a finding, not the end of the bench
        lost, duplicated, problems = 0, 0, [f"trial error: {type(err).__name__}: {err}"]
    line.trials += 1
    line.lost += lost
    line.duplicated += duplicated
    line.notes += problems


def _row(line: Line) -> str:
    return (
        f"| {line.case} | {line.trials} | {line.checked} | {line.lost} | {line.duplicated} | {line.verdict} "
        f"| `{line.command}` |"
    )


if __name__ == "__main__":
    main()
