"""One run computes a day at a time: the day lock.

Two runs of the same day (the scheduled one and a manual re-trigger, say) would otherwise
classify, track cases and plan side by side, and on PostgreSQL the second's rows collide with the
first's uncommitted ones. The lock is held from the snapshot to the queued messages; sending is
outside it (runs send side by side under their leases, see ``arrears.store.leases``). A second run
waits, then finds everything keyed and done, and sends what is left.

The lock dies with its process: a PostgreSQL session-level advisory lock (released when its
connection closes), or, on SQLite, an exclusive ``flock`` on a file beside the database.
"""

from __future__ import annotations

import fcntl
import hashlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path

from sqlalchemy import Engine, text


def _key(day: date) -> int:
    """A stable signed 64-bit advisory-lock key for the day."""
    digest = hashlib.sha256(f"arrears-day:{day.isoformat()}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


@contextmanager
def day_lock(engine: Engine, day: date, waiting: Callable[[str], None] = lambda _m: None) -> Iterator[None]:
    """Hold the day's lock for the block; ``waiting`` is told when another run holds it."""
    if engine.dialect.name == "postgresql":
        with engine.connect() as conn:
            key = {"k": _key(day)}
            if not conn.execute(text("SELECT pg_try_advisory_lock(:k)"), key).scalar():
                waiting(f"another run is computing {day}: waiting for it to finish")
                conn.execute(text("SELECT pg_advisory_lock(:k)"), key)
            conn.commit()
            try:
                yield
            finally:
                conn.execute(text("SELECT pg_advisory_unlock(:k)"), key)
                conn.commit()
        return
    database = engine.url.database
    if not database or database == ":memory:":
        yield  # one process owns an in-memory database
        return
    path = Path(database).with_name(f"{Path(database).name}.{day.isoformat()}.lock")
    with path.open("a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            waiting(f"another run is computing {day}: waiting for it to finish")
            fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
