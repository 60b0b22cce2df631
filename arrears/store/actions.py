"""Store planned actions: insert-if-absent on the idempotency key."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Connection
from sqlalchemy.dialects import postgresql, sqlite

from arrears.planning import PlannedAction
from models import CollectionAction
from models.types import utcnow

CHUNK = 1000
# A planned action with its borrower, its loan and the loan's position on the action's day.
PLANNED_WITH_POSITION = (
    " FROM collection_action a"
    " JOIN borrower b ON b.borrower_id = a.borrower_id"
    " JOIN loan l ON l.id = a.loan_id"
    " JOIN position p ON p.as_of = a.as_of AND p.loan_id = a.loan_id"
)


def insert_planned(conn: Connection, planned: Sequence[PlannedAction]) -> int:
    """Insert actions whose key is new; returns how many were new."""
    if not planned:
        return 0
    table = CollectionAction.__table__  # type: ignore[attr-defined]
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    now = utcnow()
    new = 0
    for i in range(0, len(planned), CHUNK):
        rows = [
            {
                "key": a.key,
                "as_of": a.as_of,
                "scope": a.scope,
                "borrower_id": a.borrower_id,
                "loan_id": a.loan_id,
                "loan_nos": ",".join(a.loan_nos),
                "stage": a.stage,
                "risk": a.risk,
                "action": a.action,
                "channel": a.channel,
                "template": a.template,
                "tone": a.tone,
                "status": a.status,
                "reason": a.reason,
                "audience": a.audience,
                "arm": a.arm,
                "created_at": now,
            }
            for a in planned[i : i + CHUNK]
        ]
        stmt = dialect.insert(table).values(rows).on_conflict_do_nothing(index_elements=["key"])
        new += len(conn.execute(stmt.returning(table.c.key)).all())
    return new
