"""Fault injection for the resilience tests: ``ARREARS_CRASH_AT=<point>[:<n>]`` kills the process
and its process group (the flow and its pool workers) with SIGKILL the n-th time (default: the
first) that process reaches the named point; ``ARREARS_DB_DROP_AT=<point>`` has PostgreSQL
terminate this process's connections there (``pg_terminate_backend``: the server stays up, the
run must reconnect or fail cleanly). Unset — always, outside those tests — a point costs one
comparison.

The variables are read when this module is imported (and by ``arm``, in a fork server's child):
they are a test hook, not a setting, and a run that should crash is started in a process of its
own with the variable in its environment.
"""

from __future__ import annotations

import os
import signal
import threading
from collections import Counter

# Where a run can be killed, in the order the day reaches them (the resilience suite chains them).
POINTS = (
    "snapshot.done",  # the day's batches listed
    "promises.judged",  # a promise's verdict written, the day's judging not committed
    "classify.computed",  # a batch's positions computed, not written
    "classify.written",  # a batch's positions committed
    "cases.tracked",  # the day's cases opened and closed, not committed
    "plan.inserted",  # a borrower range's actions inserted, not committed
    "plan.committed",  # a borrower range's actions committed
    "guard.decided",  # the day's contacts decided
    "channels.handed",  # the planned actions counted per channel
    "calls.queued",  # the day's call tasks dealt
    "escalate.opened",  # legal cases and tasks written, not committed
    "letters.mid_chunk",  # one letter of a chunk on disk, the others not yet
    "letters.files_written",  # a chunk's PDFs on disk, their rows not written
    "letters.recorded",  # a chunk's letter rows committed
    "mailhouse.written",  # the print batch and manifest on disk, the letters not marked
    "mailhouse.marked",  # the letters marked printed
    "queue.inserted",  # the day's messages inserted, not committed
    "queue.committed",  # the day's messages committed
    "settle.reconciled",  # what an earlier run left `sending` settled
    "dispatch.claimed",  # a message is `sending`, its provider call not made yet
    "dispatch.accepted",  # the provider took the message; the row is not settled yet
    "dispatch.settled",  # a request's messages recorded sent
    "summary.start",  # everything sent; the summary not read yet
    "report.written",  # the day's report written, the run not recorded finished
)

_POINT = _NTH = _DROP = ""
_reached: Counter[str] = Counter()
_lock = threading.Lock()


def arm() -> None:
    """Read the hooks from this process's environment (again: a fork server's child)."""
    global _POINT, _NTH, _DROP  # noqa: PLW0603 - the process's hook
    _POINT, _, _NTH = os.environ.get("ARREARS_CRASH_AT", "").partition(":")
    _DROP = os.environ.get("ARREARS_DB_DROP_AT", "")
    _reached.clear()


arm()


def application_name() -> str:
    """How this process's PostgreSQL connections name themselves (``pg_stat_activity``)."""
    return f"arrears:{os.getpid()}"


def crash_point(name: str) -> None:
    """Die here if the test asked for it (see the module)."""
    if name == _DROP:
        _drop_connections()
    if name != _POINT:
        return
    with _lock:
        _reached[name] += 1
        hit = _reached[name] == int(_NTH or 1)
    if hit:
        os.killpg(os.getpgrp(), signal.SIGKILL)


def _drop_connections() -> None:
    """Terminate this process's PostgreSQL backends (once): what a failover or a DBA's kill does."""
    import psycopg  # noqa: PLC0415 - a test hook: only when asked for

    global _DROP  # noqa: PLW0603 - once per process
    _DROP = ""
    url = os.environ["ARREARS_DATABASE_URL"].replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(url, autocommit=True) as admin:
        admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = %s",
            (application_name(),),
        )
