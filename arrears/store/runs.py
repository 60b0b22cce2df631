"""Collection runs: one row per flow run of a day, written as the run starts and settled as it ends."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Protocol

from sqlalchemy import Connection, Engine, select, update

from arrears.reports.day import DaySummary
from arrears.store.leases import lease_states
from models import CollectionRun
from models.types import utcnow

R = CollectionRun.__table__  # type: ignore[attr-defined]


@dataclass
class RunRecord:
    """The run's row while it runs: the flow sets the outcome it ends with."""

    id: int
    status: str = "completed"  # or "failed": the run finished but could not do all of its work
    summary: DaySummary | None = None


class HeldLease(Protocol):
    id: int
    ttl: timedelta


def mark_crashed(conn: Connection, now: datetime, ttl: timedelta) -> int:
    """Runs still ``running`` whose lease is gone (or who never had one) died without finishing:
    ``crashed``, with the moment this was found. Returns how many."""
    rows = conn.execute(select(R.c.id, R.c.lease_id).where(R.c.status == "running")).all()
    states = lease_states(conn, [r.lease_id for r in rows if r.lease_id is not None])
    dead = [r.id for r in rows if r.lease_id is None or (s := states.get(r.lease_id)) is None or s.gone(now, ttl)]
    if dead:
        conn.execute(update(R).where(R.c.id.in_(dead), R.c.status == "running").values(
            status="crashed", crash_found_at=now
        ))  # fmt: skip
    return len(dead)


@contextmanager
def recorded_run(
    engine: Engine, as_of: date, flow_run_id: str | None, lease: HeldLease | None = None, policy_hash: str | None = None
) -> Iterator[RunRecord]:
    """A ``running`` row for the day's run (under its lease), settled when the block ends: with the
    record's status and summary, or ``failed`` (no summary) when the block raises. Earlier runs
    found dead, on the way in or out, are marked ``crashed``."""
    with engine.begin() as conn:
        if lease is not None:
            mark_crashed(conn, utcnow(), lease.ttl)
        result = conn.execute(
            CollectionRun.__table__.insert().values(  # type: ignore[attr-defined]
                as_of=as_of, flow_run_id=flow_run_id, started_at=utcnow(), status="running",
                lease_id=lease.id if lease is not None else None, policy_hash=policy_hash,
            )
        )  # fmt: skip
    record = RunRecord(int(result.inserted_primary_key[0]))
    try:
        yield record
    except BaseException:
        _finish(engine, record.id, "failed", None, lease)
        raise
    _finish(engine, record.id, record.status, record.summary, lease)


def _finish(engine: Engine, run_id: int, status: str, summary: DaySummary | None, lease: HeldLease | None) -> None:
    with engine.begin() as conn:
        if lease is not None:  # a run killed just before this one started is gone by now
            mark_crashed(conn, utcnow(), lease.ttl)
        conn.execute(
            update(CollectionRun)
            .where(CollectionRun.id == run_id)  # type: ignore[arg-type]
            .values(
                finished_at=utcnow(),
                status=status,
                summary=json.dumps(summary.as_json(), ensure_ascii=False) if summary else None,
            )
        )
