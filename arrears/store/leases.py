"""Run leases: every run that sends holds one, renewed by a heartbeat while its process lives.

A message a run left in ``sending`` may be reconciled by another run only once that run is
provably gone: its lease released (it finished), or its last heartbeat older than the TTL (its
process died). An age threshold on the message alone would take a live run's message that is
merely waiting for its rate token for a crashed one (and send it twice).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection, select, update

from arrears.store import as_moment
from models import RunLease

RL = RunLease.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True, slots=True)
class LeaseState:
    id: int
    heartbeat_at: datetime
    released_at: datetime | None

    def gone(self, now: datetime, ttl: timedelta) -> bool:
        """Released, or silent for longer than the TTL: its process no longer sends."""
        return self.released_at is not None or self.heartbeat_at + ttl < now


def open_lease(conn: Connection, kind: str, holder: str, flow_run_id: str | None, now: datetime) -> int:
    values = {"kind": kind, "holder": holder[:200], "flow_run_id": flow_run_id, "started_at": now, "heartbeat_at": now}
    return int(conn.execute(RL.insert().values(**values).returning(RL.c.id)).scalar_one())


def beat(conn: Connection, lease_id: int, now: datetime) -> bool:
    """Renew a lease; False when it was released (it is not ours to renew any more)."""
    q = update(RL).where(RL.c.id == lease_id, RL.c.released_at.is_(None)).values(heartbeat_at=now)
    return bool(conn.execute(q).rowcount)


def release(conn: Connection, lease_id: int, now: datetime) -> None:
    conn.execute(update(RL).where(RL.c.id == lease_id, RL.c.released_at.is_(None)).values(released_at=now))


def lease_states(conn: Connection, ids: Iterable[int]) -> dict[int, LeaseState]:
    wanted = sorted(set(ids))
    if not wanted:
        return {}
    q = select(RL.c.id, RL.c.heartbeat_at, RL.c.released_at).where(RL.c.id.in_(wanted))
    out = {}
    for r in conn.execute(q):
        heartbeat = as_moment(r.heartbeat_at)
        assert heartbeat is not None
        out[int(r.id)] = LeaseState(int(r.id), heartbeat, as_moment(r.released_at))
    return out
