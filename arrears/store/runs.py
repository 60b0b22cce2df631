"""Collection runs: one row per flow run of a day."""

from __future__ import annotations

import json
from datetime import date

from sqlalchemy import Engine, update

from arrears.store.summary import DaySummary
from models import CollectionRun
from models.types import utcnow


def start_run(*, engine: Engine, as_of: date, flow_run_id: str | None) -> int:
    with engine.begin() as conn:
        result = conn.execute(
            CollectionRun.__table__.insert().values(  # type: ignore[attr-defined]
                as_of=as_of, flow_run_id=flow_run_id, started_at=utcnow(), status="running"
            )
        )
        return int(result.inserted_primary_key[0])


def finish_run(*, engine: Engine, run_id: int, status: str, summary: DaySummary | None) -> None:
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
