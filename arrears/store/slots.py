"""Send slots: one run at a time sends through a provider, whichever process or machine it runs on.

A provider's rate (Twilio's messages per second, Alibaba's QPS) is the provider's: two runs each
keeping to it would together send at twice it. So a run sends through a provider only while it
holds the provider's ``send_slot`` row, under its run lease (``arrears.store.leases``); the row is
free when its lease is released or has gone silent past the TTL (the run died). Taking it is one
conditional UPDATE, atomic on PostgreSQL and SQLite alike.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Connection, and_, exists, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from models import RunLease, SendSlot

SS = SendSlot.__table__  # type: ignore[attr-defined]
RL = RunLease.__table__  # type: ignore[attr-defined]


def take(conn: Connection, provider: str, lease_id: int, now: datetime, ttl: timedelta) -> int | None:
    """Take the provider's slot for ``lease_id`` if it is free, or its holder's lease is gone (or it
    is ours already). None when taken; else the lease that holds it."""
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    conn.execute(dialect.insert(SS).values(provider=provider, lease_id=None).on_conflict_do_nothing())
    alive = exists().where(RL.c.id == SS.c.lease_id, RL.c.released_at.is_(None), RL.c.heartbeat_at >= now - ttl)
    taken = conn.execute(
        update(SS)
        .where(SS.c.provider == provider, or_(SS.c.lease_id.is_(None), SS.c.lease_id == lease_id, ~alive))
        .values(lease_id=lease_id, held_since=now)
        .returning(SS.c.provider)
    ).first()
    if taken is not None:
        return None
    return conn.execute(select(SS.c.lease_id).where(SS.c.provider == provider)).scalar_one_or_none()


def give_back(conn: Connection, provider: str, lease_id: int) -> None:
    """Free the slot if ``lease_id`` holds it."""
    conn.execute(update(SS).where(and_(SS.c.provider == provider, SS.c.lease_id == lease_id)).values(lease_id=None))
