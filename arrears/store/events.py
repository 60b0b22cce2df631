"""Delivery receipts and opt-outs from provider webhooks, applied idempotently."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from arrears.providers.receipts import Receipt
from arrears.store.borrowers import borrowers_with_phone
from arrears.store.guard import record_conversation
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
            status=new_status,
            detail=(detail or None) and detail[:300],
            occurred_at=occurred_at,
            received_at=occurred_at,
        )
        .on_conflict_do_nothing(index_elements=["dedupe"])
        .returning(E.c.id)  # a replay inserts nothing (rowcount is -1 on PostgreSQL: not a count)
    ).first() is not None
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
        # behind it, whatever it is by now (the sender may have settled it since we read it): never backwards
        behind = [status for status, rank in RANK.items() if rank < RANK[new_status]]
        conn.execute(update(T).where(T.c.id == row.id, T.c.status.in_(behind)).values(**values))
    return True


def link_early_events(conn: Connection, message_id: int, provider_id: str) -> int:
    """Events that arrived before their message was recorded as sent under ``provider_id`` (a
    delivery report racing the send's answer — a batch's reports name no key of ours): linked to
    it now, its status moved to the furthest they bring. Returns how many were linked."""
    early = conn.execute(
        select(E.c.id, E.c.status, E.c.occurred_at).where(E.c.provider_id == provider_id, E.c.message_id.is_(None))
    ).all()
    if not early:
        return 0
    conn.execute(update(E).where(E.c.id.in_([e.id for e in early])).values(message_id=message_id))
    best = max((e for e in early if e.status), key=lambda e: RANK.get(e.status, 0), default=None)
    current = conn.execute(select(T.c.status).where(T.c.id == message_id)).scalar_one()
    if best is not None and RANK.get(best.status, 0) > RANK.get(current, 99):
        values: dict[str, object] = {"status": best.status, "updated_at": best.occurred_at}
        if best.status == DELIVERED:
            values["delivered_at"] = best.occurred_at
        behind = [status for status, rank in RANK.items() if rank < RANK[best.status]]
        conn.execute(update(T).where(T.c.id == message_id, T.c.status.in_(behind)).values(**values))
    return len(early)


def link_orphan_events(conn: Connection, channel: str) -> int:
    """Events stored without their message (a report that raced the send's own record of it, each
    transaction blind to the other's uncommitted row) linked now that the message carries the
    provider id: run by every dispatch's settle step, so no report stays lost."""
    pairs = conn.execute(
        select(T.c.id, T.c.provider_id)
        .join(E, E.c.provider_id == T.c.provider_id)
        .where(E.c.message_id.is_(None), T.c.channel == channel, T.c.provider_id.is_not(None))
        .distinct()
    ).all()
    return sum(link_early_events(conn, message_id, provider_id) for message_id, provider_id in pairs)


def opt_out(conn: Connection, channel: str, address: str, reason: str, source: str, now: datetime) -> bool:
    """Put an address on the suppression list (idempotent); the engine honours it from then on."""
    return add_suppression(conn, channel, address.lower() if channel == "email" else address, reason, source, now)


def apply_receipt(conn: Connection, r: Receipt, now: datetime) -> bool:
    """Record a provider's receipt once (by its dedupe), move its message on, suppress an address
    that opted out or hard-bounced, and record a reply as a conversation with each borrower on
    that number. False for a replay."""
    fresh = record_event(
        conn, provider=r.provider, event=r.event, occurred_at=r.occurred_at, dedupe=r.dedupe, key=r.key,
        provider_id=r.provider_id, new_status=r.new_status, detail=r.detail, error_code=r.error_code,
    )  # fmt: skip
    if r.opt_out:
        opt_out(conn, r.channel, r.opt_out, r.opt_out_reason, f"{r.provider}:{r.event}"[:64], now)
    if fresh and r.reply_from:
        for borrower_id in borrowers_with_phone(conn, r.reply_from):
            record_conversation(conn, f"{r.dedupe}:{borrower_id}", borrower_id, now, r.channel, f"{r.provider}:reply")
    return fresh
