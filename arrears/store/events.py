"""Delivery receipts and opt-outs from provider webhooks, applied idempotently."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from arrears.store.outbox import T, add_suppression
from models import MessageEvent
from models.message import DELIVERED, FAILED, QUEUED, SENDING, SENT, UNDELIVERED

E = MessageEvent.__table__  # type: ignore[attr-defined]

# How far along a message is; an event never moves it back (a late "sent" after "delivered").
RANK = {QUEUED: 0, SENDING: 1, SENT: 2, DELIVERED: 3, UNDELIVERED: 3, FAILED: 3}


def record_event(
    conn: Connection,
    *,
    provider: str,
    event: str,
    occurred_at: datetime,
    dedupe: str,
    key: str | None = None,
    provider_id: str | None = None,
    new_status: str | None = None,
    detail: str | None = None,
    error_code: str | None = None,
) -> bool:
    """Store the event once (by ``dedupe``) and move its message forward; False for a replay."""
    cond = [T.c.key == key] if key else []
    if provider_id:
        cond.append(T.c.provider_id == provider_id)
    row = conn.execute(select(T.c.id, T.c.status).where(or_(*cond)).limit(1)).first() if cond else None
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    inserted = conn.execute(
        dialect.insert(E)
        .values(
            dedupe=dedupe[:300],
            message_id=row.id if row else None,
            provider=provider,
            provider_id=provider_id,
            event=event,
            detail=(detail or None) and detail[:300],
            occurred_at=occurred_at,
            received_at=occurred_at,
        )
        .on_conflict_do_nothing(index_elements=["dedupe"])
    ).rowcount
    if not inserted or row is None or new_status is None:
        return bool(inserted)
    if RANK.get(new_status, 0) > RANK.get(row.status, 99):
        values: dict[str, object] = {"status": new_status, "updated_at": occurred_at}
        if provider_id:
            values["provider_id"] = provider_id
            values["provider"] = provider
        if new_status == DELIVERED:
            values["delivered_at"] = occurred_at
        if error_code:
            values["error_code"] = error_code
        if new_status == SENT:
            values["sent_at"] = occurred_at
        conn.execute(update(T).where(T.c.id == row.id, T.c.status == row.status).values(**values))
    return True


def opt_out(conn: Connection, channel: str, address: str, reason: str, source: str, now: datetime) -> bool:
    """Put an address on the suppression list (idempotent); the engine honours it from then on."""
    return add_suppression(conn, channel, address.lower() if channel == "email" else address, reason, source, now)
