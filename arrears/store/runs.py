"""Collection runs: one row per flow run of a day, written as the run starts and settled as it ends."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from typing import Protocol

from sqlalchemy import Engine, update

from arrears.reports.day import DaySummary
from models import CollectionRun
from models.types import utcnow


@dataclass
class RunRecord:
    """The run's row while it runs: the flow sets the outcome it ends with."""

    id: int
    status: str = "completed"  # or "failed": the run finished but could not do all of its work
    summary: DaySummary | None = None


class HasId(Protocol):
    id: int


@contextmanager
def recorded_run(
    engine: Engine, as_of: date, flow_run_id: str | None, lease: HasId | None = None
) -> Iterator[RunRecord]:
    """A ``running`` row for the day's run (under its lease), settled when the block ends: with the
    record's status and summary, or ``failed`` (no summary) when the block raises."""
    with engine.begin() as conn:
        result = conn.execute(
            CollectionRun.__table__.insert().values(  # type: ignore[attr-defined]
                as_of=as_of, flow_run_id=flow_run_id, started_at=utcnow(), status="running",
                lease_id=lease.id if lease is not None else None,
            )
        )  # fmt: skip
    record = RunRecord(int(result.inserted_primary_key[0]))
    try:
        yield record
    except BaseException:
        _finish(engine, record.id, "failed", None)
        raise
    _finish(engine, record.id, record.status, record.summary)


def _finish(engine: Engine, run_id: int, status: str, summary: DaySummary | None) -> None:
    with engine.begin() as conn:
        conn.execute(
            update(CollectionRun)
            .where(CollectionRun.id == run_id)  # type: ignore[arg-type]
            .values(
                finished_at=utcnow(),
                status=status,
                summary=json.dumps(summary.as_json(), ensure_ascii=False) if summary else None,
            )
        )
