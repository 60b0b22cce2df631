"""A fork server for the resilience suite and ``bench/faults.py``: a process that imports the CLI
(Prefect, the flows, the providers' SDKs: about four seconds) once, then forks a fresh child for
each ``arrears`` command it is asked to run. A child is a process of its own in a session of its
own, exactly as ``subprocess.Popen(start_new_session=True)`` would start it: a crash point's
SIGKILL of its process group takes the child and its pool workers, never the server.

The child runs with exactly the environment of its request, except Prefect's own settings, which
Prefect reads once at import: the ``PREFECT_*`` of the server's start apply to every child.

The server imports and starts no thread before it forks (checked at start), so a child never
inherits a lock held by a thread that does not exist in it.

Protocol (one JSON object per line): request ``{"argv": [...], "env": {...}, "out": path|null,
"err": path|null}`` (stderr to ``out`` when ``err`` is null; nowhere when both are);
answers ``{"pid": n}`` when the child started, ``{"rc": n}`` when it ended (negative: the signal
that ended it, as ``subprocess`` reports it).
"""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import NoReturn

import flows.daily  # noqa: F401 - imported once, here, for every child
import flows.dispatch  # noqa: F401
from arrears import faults
from arrears.cli import main
from arrears.settings import get_settings


def _child(request: dict[str, object]) -> NoReturn:
    """In the forked child: the command, then ``SystemExit`` with its exit code, which unwinds out
    of ``serve`` and ends the process as ``python -m arrears`` ends (exit handlers run: Prefect
    flushes its queued events and logs, so the run's task runs reach the server)."""
    try:
        os.setsid()
        os.dup2(os.open(os.devnull, os.O_RDONLY), 0)
        for fd, path in ((1, request.get("out")), (2, request.get("err") or request.get("out"))):
            os.dup2(os.open(str(path) if path else os.devnull, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600), fd)
        os.environ.clear()
        os.environ.update({str(k): str(v) for k, v in dict(request["env"]).items()})  # type: ignore[call-overload]
        faults.arm()
        get_settings.cache_clear()
        sys.argv = ["arrears", *(str(a) for a in request["argv"])]  # type: ignore[attr-defined]
        main()  # what `python -m arrears` runs
    except SystemExit:
        raise
    except BaseException:  # noqa: BLE001 - whatever it was, the child reports it and exits
        traceback.print_exc()
        raise SystemExit(1) from None
    raise SystemExit(0)


def serve() -> None:
    """The server's loop on stdin/stdout (``python -m arrears.forkserver``)."""
    if threading.active_count() != 1:  # a thread would be missing, with its locks, in every child
        raise RuntimeError(f"the fork server started threads while importing: {threading.enumerate()}")
    answer = sys.stdout
    answer.write('{"ready": true}\n')
    answer.flush()
    for line in sys.stdin:
        request = json.loads(line)
        answer.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:
            _child(request)
        answer.write(json.dumps({"pid": pid}) + "\n")
        answer.flush()
        _, status = os.waitpid(pid, 0)
        answer.write(json.dumps({"rc": os.waitstatus_to_exitcode(status)}) + "\n")
        answer.flush()


@dataclass(frozen=True)
class Captured:
    returncode: int
    stdout: str
    stderr: str


class ForkServer:
    """The client: ``run(argv, env)`` is ``subprocess.run([python, -m, arrears, *argv], env=env,
    start_new_session=True).returncode``, four seconds sooner."""

    def __init__(self, env: Mapping[str, str]) -> None:
        self._proc = subprocess.Popen(  # noqa: S603 - our own module
            [sys.executable, "-m", "arrears.forkserver"], env=dict(env), stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
        )  # fmt: skip
        self._pending = b""
        self._child: int | None = None
        ready = self._read(120)
        if not ready.get("ready"):
            raise RuntimeError(f"the fork server did not start: {ready}")

    def run(
        self, argv: list[str], env: Mapping[str, str], out: Path | None = None, err: Path | None = None,
        timeout: float = 300,
    ) -> int:
        """Run ``arrears *argv`` in a fresh child with ``env`` (output to the files given); its exit
        code (-9: killed)."""
        self.start(argv, env, out, err)
        return self.wait(timeout)

    def capture(self, argv: list[str], env: Mapping[str, str], timeout: float = 300) -> Captured:
        """``run`` with its output captured, as ``subprocess.run(capture_output=True, text=True)``."""
        with tempfile.TemporaryDirectory(prefix="arrears-fork-") as tmp:
            out, err = Path(tmp) / "out", Path(tmp) / "err"
            code = self.run(argv, env, out, err, timeout)
            read = lambda p: p.read_text(encoding="utf-8", errors="replace") if p.exists() else ""  # noqa: E731
            return Captured(code, read(out), read(err))

    def start(self, argv: list[str], env: Mapping[str, str], out: Path | None = None, err: Path | None = None) -> int:
        """Start ``arrears *argv`` in a fresh child (one at a time); its pid, also its process group."""
        assert self._proc.stdin is not None and self._child is None
        request = {"argv": argv, "env": dict(env), "out": str(out) if out else None, "err": str(err) if err else None}
        self._proc.stdin.write(json.dumps(request).encode() + b"\n")
        self._proc.stdin.flush()
        self._child = int(self._read(30)["pid"])
        return self._child

    def wait(self, timeout: float = 300) -> int:
        """The started child's exit code (-9: killed); killed itself after ``timeout`` seconds."""
        assert self._child is not None
        try:
            return int(self._read(timeout)["rc"])
        except TimeoutError:
            os.killpg(self._child, signal.SIGKILL)
            self._read(30)
            raise
        finally:
            self._child = None

    def _read(self, timeout: float) -> dict[str, object]:
        assert self._proc.stdout is not None
        fd = self._proc.stdout.fileno()
        deadline = time.monotonic() + timeout
        while b"\n" not in self._pending:  # raw reads: a buffered reader would hide a line from select
            ready, _, _ = select.select([fd], [], [], max(0.0, deadline - time.monotonic()))
            if not ready:
                raise TimeoutError(f"no answer from the fork server in {timeout:.0f} s")
            chunk = os.read(fd, 65536)
            if not chunk:
                raise RuntimeError(f"the fork server ended ({self._proc.wait()})")
            self._pending += chunk
        line, _, self._pending = self._pending.partition(b"\n")
        return dict(json.loads(line))

    def close(self) -> None:
        if self._proc.stdin:
            self._proc.stdin.close()
        try:
            self._proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait()

    def __enter__(self) -> ForkServer:
        return self

    def __exit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        self.close()


if __name__ == "__main__":
    serve()
