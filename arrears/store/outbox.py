"""The outbox in the database. Every state change is a compare-and-set on the row's
status (and attempt number), so two workers can never both own a message."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, Date, and_, bindparam, func, or_, select, text, update
from sqlalchemy.dialects import postgresql, sqlite

from arrears.messaging.compose import ActionToQueue
from arrears.money import from_cents
from arrears.store import DAY, as_moment, optional_date
from arrears.store.actions import PLANNED_WITH_POSITION
from models import Letter, OutboxMessage, Suppression
from models.message import QUEUED, REVIEW, SENDING, SENT, SUPPRESSED

T = OutboxMessage.__table__  # type: ignore[attr-defined]
S = Suppression.__table__  # type: ignore[attr-defined]
LT = Letter.__table__  # type: ignore[attr-defined]
CHUNK = 500


def actions_to_queue(conn: Connection, as_of: date) -> list[ActionToQueue]:
    """The day's planned SMS/email actions that have no outbox message yet."""
    rows = conn.execute(
        text(
            "SELECT a.key, a.channel, a.template, a.borrower_id, a.loan_id, a.loan_nos,"
            " b.name, b.locale, b.phone, b.email, b.sms_consent, b.email_consent,"
            " l.loan_no, l.currency, p.dpd, p.overdue_principal, p.overdue_interest, p.overdue_penalty,"
            " p.overdue_fees, p.overdue_total, p.next_due_date, p.credit,"
            " (SELECT i.principal_due + i.interest_due + i.fee_due FROM installment i"
            "   WHERE i.loan_id = a.loan_id AND i.due_date = p.next_due_date) AS next_due,"
            " pr.amount AS promise_amount, pr.promised_on, a.audience, tc.id AS contact_id,"
            " CASE WHEN a.rule = 'allowed' THEN NULL ELSE a.not_before END AS not_before,"
            " tc.phone AS contact_phone"
            + PLANNED_WITH_POSITION
            + " LEFT JOIN outbox_message o ON o.key = a.key"
            " LEFT JOIN promise pr ON pr.loan_id = a.loan_id AND pr.made_on <= a.as_of AND pr.promised_on >= a.as_of"
            "   AND pr.status NOT IN ('superseded', 'cancelled')"
            " LEFT JOIN contact tc ON a.audience = 'third_party' AND tc.id ="
            "   (SELECT MIN(c2.id) FROM contact c2 WHERE c2.borrower_id = a.borrower_id AND c2.consent)"
            " WHERE a.as_of = :d AND a.channel IN ('sms', 'email') AND a.status = 'planned' AND o.id IS NULL"
            " ORDER BY a.key"
        ).bindparams(DAY),
        {"d": as_of},
    ).all()
    out = []
    for r in rows:
        next_due = from_cents(r.next_due or 0) - from_cents(r.credit or 0)
        out.append(
            ActionToQueue(
                key=r.key,
                as_of=as_of,
                channel=r.channel,
                template=r.template,
                borrower_id=r.borrower_id,
                loan_id=r.loan_id,
                loan_nos=tuple(r.loan_nos.split(",")),
                name=r.name,
                locale=r.locale,
                phone=r.phone,
                email=r.email,
                sms_consent=bool(r.sms_consent),
                email_consent=bool(r.email_consent),
                loan_no=r.loan_no,
                currency=r.currency,
                dpd=r.dpd,
                overdue=tuple(from_cents(v) for v in (r[15], r[16], r[17], r[18], r[19])),  # type: ignore[arg-type]
                next_due_date=optional_date(r.next_due_date),
                next_amount_due=max(next_due, Decimal(0)),
                promise_amount=from_cents(r.promise_amount) if r.promise_amount is not None else None,
                promise_date=optional_date(r.promised_on),
                audience=r.audience,
                not_before=as_moment(r.not_before),
                contact_id=r.contact_id,
                contact_phone=r.contact_phone,
            )
        )
    return out


def rendered_letters(conn: Connection, as_of: date) -> dict[str, str]:
    """The day's rendered letters: key -> reference (an email may carry one)."""
    rows = conn.execute(
        text("SELECT key, reference FROM letter WHERE as_of = :d AND status = 'rendered'").bindparams(DAY),
        {"d": as_of},
    ).all()
    return {r.key: r.reference for r in rows}


def insert_messages(conn: Connection, rows: Sequence[dict[str, Any]]) -> int:
    """Insert messages whose key is new; returns how many were new."""
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    new = 0
    for i in range(0, len(rows), CHUNK):
        stmt = dialect.insert(T).values(list(rows[i : i + CHUNK])).on_conflict_do_nothing(index_elements=["key"])
        new += len(conn.execute(stmt.returning(T.c.key)).all())
    return new


def suppressed(conn: Connection, channel: str, addresses: Iterable[str]) -> dict[str, str]:
    """address -> reason for the addresses on the suppression list."""
    found: dict[str, str] = {}
    addrs = sorted({a for a in addresses if a})
    for i in range(0, len(addrs), CHUNK):
        q = select(S.c.address, S.c.reason).where(S.c.channel == channel, S.c.address.in_(addrs[i : i + CHUNK]))
        found.update({str(a): str(r) for a, r in conn.execute(q).all()})
    return found


def add_suppression(conn: Connection, channel: str, address: str, reason: str, source: str, now: datetime) -> bool:
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    stmt = (
        dialect.insert(S)
        .values(channel=channel, address=address, reason=reason, source=source, created_at=now)
        .on_conflict_do_nothing(index_elements=["channel", "address"])
        .returning(S.c.id)
    )
    return conn.execute(stmt).first() is not None


def ids_in_status(
    conn: Connection, channel: str, status: str, as_of: date | None = None, due_by: datetime | None = None
) -> list[int]:
    """Message ids, a borrower's together (the guard counts a borrower's messages in one chunk);
    ``due_by``: only those not deferred past that moment."""
    q = select(T.c.id).where(T.c.channel == channel, T.c.status == status).order_by(T.c.borrower_id, T.c.id)
    if as_of is not None:
        q = q.where(T.c.as_of <= bindparam("d", as_of, type_=Date()))
    if due_by is not None:
        q = q.where(or_(T.c.not_before.is_(None), T.c.not_before <= due_by))
    return list(conn.execute(q).scalars())


def load(conn: Connection, ids: Sequence[int]) -> list[Any]:
    """Messages with, for an email that carries a letter, the letter's status, file and checksum."""
    q = select(
        T,
        LT.c.status.label("letter_status"),
        LT.c.path.label("letter_path"),
        LT.c.sha256.label("letter_sha256"),
        LT.c.reference.label("letter_reference"),
    ).select_from(T.outerjoin(LT, LT.c.key == T.c.letter_key))
    rows: list[Any] = []
    for i in range(0, len(ids), CHUNK):
        rows.extend(conn.execute(q.where(T.c.id.in_(ids[i : i + CHUNK])).order_by(T.c.id)).all())
    return rows


def recipients_of(conn: Connection, message_ids: Sequence[int]) -> dict[int, tuple[str, str | None]]:
    """id -> (recipient, the provider it was last claimed for or sent by)."""
    rows = conn.execute(select(T.c.id, T.c.recipient, T.c.provider).where(T.c.id.in_(list(message_ids))))
    return {int(i): (r, p) for i, r, p in rows}


def claim_many(
    conn: Connection,
    message_ids: Sequence[int],
    now: datetime,
    lease_id: int | None = None,
    provider: str | None = None,
) -> dict[int, int]:
    """queued -> sending for a whole batch in one statement, under the claiming run's lease and
    for ``provider`` (a crash leaves it `sending`: the next run asks that provider about it);
    id -> attempt for those we own."""
    values: dict[str, Any] = {"status": SENDING, "attempts": T.c.attempts + 1, "sending_at": now, "updated_at": now}
    values |= {"lease_id": lease_id} | ({"provider": provider} if provider else {})
    rows = conn.execute(
        update(T)
        .where(T.c.id.in_(list(message_ids)), T.c.status == QUEUED)
        .values(**values)
        .returning(T.c.id, T.c.attempts)
    ).all()
    return {int(i): int(a) for i, a in rows}


def retake(conn: Connection, message_id: int, attempt: int, now: datetime, lease_id: int | None = None) -> int | None:
    """sending (attempt n, answer lost and proven unsent) -> sending (attempt n+1)."""
    row = conn.execute(
        update(T)
        .where(T.c.id == message_id, T.c.status == SENDING, T.c.attempts == attempt)
        .values(attempts=T.c.attempts + 1, sending_at=now, updated_at=now, lease_id=lease_id)
        .returning(T.c.attempts)
    ).first()
    return None if row is None else int(row[0])


def note_queued(conn: Connection, message_id: int, reason: str, now: datetime) -> bool:
    """Why a queued message was not sent this time (it stays queued for the next run)."""
    q = update(T).where(T.c.id == message_id, T.c.status == QUEUED)
    return bool(conn.execute(q.values(reason=reason, updated_at=now)).rowcount)


def sending_with_leases(conn: Connection, channel: str) -> list[tuple[int, int | None]]:
    """(id, lease id) of the channel's messages in `sending`: each is its claiming run's to settle
    while that run lives."""
    q = select(T.c.id, T.c.lease_id).where(T.c.channel == channel, T.c.status == SENDING).order_by(T.c.id)
    return [(int(i), None if lease is None else int(lease)) for i, lease in conn.execute(q)]


def settle(conn: Connection, message_id: int, attempt: int | None, now: datetime, **values: Any) -> bool:
    """Leave `sending` for ``values['status']``, only if we still own attempt ``attempt``."""
    cond = [T.c.id == message_id, T.c.status == SENDING]
    if attempt is not None:
        cond.append(T.c.attempts == attempt)
    if values.get("status") == SENT:
        values.setdefault("sent_at", now)
    return bool(conn.execute(update(T).where(*cond).values(updated_at=now, **values)).rowcount)


def suppress_queued(conn: Connection, message_id: int, reason: str, now: datetime) -> bool:
    q = update(T).where(T.c.id == message_id, T.c.status == QUEUED)
    return bool(conn.execute(q.values(status=SUPPRESSED, reason=reason, updated_at=now)).rowcount)


def expire_stale(conn: Connection, channel: str, before: date, now: datetime) -> int:
    """Queued messages of days before ``before`` are too old to send: expired, with the reason.
    A message the guard deferred counts from the day it was deferred to."""
    q = update(T).where(T.c.channel == channel, T.c.status == QUEUED, T.c.as_of < bindparam("b", before, type_=Date()))
    q = q.where(or_(T.c.not_before.is_(None), T.c.not_before < datetime.combine(before, time(0), tzinfo=UTC)))
    return int(conn.execute(q.values(status="expired", reason=f"not sent by {before}", updated_at=now)).rowcount)


def suppress_cured(conn: Connection, channel: str, as_of: date, now: datetime) -> int:
    """Queued reminders of earlier days about a loan that is no longer overdue on ``as_of``
    are not sent: a cured loan stops all pending contacts at once (DOMAIN: payment)."""
    result = conn.execute(
        text(
            "UPDATE outbox_message SET status = 'suppressed', updated_at = :now,"
            " reason = 'cured: nothing overdue on ' || :day_text"
            " WHERE status = 'queued' AND channel = :channel AND as_of < :d"
            " AND key IN (SELECT a.key FROM collection_action a WHERE a.stage <> 'pre_due')"
            " AND loan_id IN (SELECT p.loan_id FROM position p WHERE p.as_of = :d AND p.dpd = 0)"
        ).bindparams(DAY),
        {"d": as_of, "day_text": as_of.isoformat(), "channel": channel, "now": now},
    )
    return int(result.rowcount)


def counts(conn: Connection, as_of: date) -> dict[tuple[str, str], int]:
    """(channel, status) -> messages of the day."""
    q = (
        select(T.c.channel, T.c.status, func.count())
        .where(T.c.as_of == bindparam("d", as_of, type_=Date()))
        .group_by(T.c.channel, T.c.status)
    )
    return {(c, s): n for c, s, n in conn.execute(q).all()}


UNSENT = or_(T.c.status.in_([SENDING, REVIEW]), and_(T.c.status == QUEUED, T.c.reason.is_not(None)))


def _why(status: str, reason: str | None) -> str:
    return "answer lost; the next run asks the provider" if status == SENDING else (reason or status)


def unsent_reasons(conn: Connection, as_of: date) -> dict[tuple[str, str], int]:
    """(channel, why) -> the day's messages still unsent for that reason: queued with a reason
    (provider unavailable, letter missing, lease lost), `sending` (answer lost: the next run
    reconciles), `review` (held for a person). Deferred messages (queued, no reason) are not here."""
    q = (
        select(T.c.channel, T.c.status, T.c.reason, func.count())
        .where(T.c.as_of == bindparam("d", as_of, type_=Date()), UNSENT)
        .group_by(T.c.channel, T.c.status, T.c.reason)
    )
    found: dict[tuple[str, str], int] = {}
    for channel, status, reason, n in conn.execute(q).all():
        found[(channel, _why(status, reason))] = found.get((channel, _why(status, reason)), 0) + n
    return found


def unsent_of(conn: Connection, ids: Sequence[int]) -> list[tuple[str, int]]:
    """(why, messages) among these messages still unsent (see ``unsent_reasons``), most first."""
    q = (
        select(T.c.status, T.c.reason, func.count())
        .where(T.c.id.in_(list(ids)), UNSENT)
        .group_by(T.c.status, T.c.reason)
    )
    found: dict[str, int] = {}
    for status, reason, n in conn.execute(q).all():
        found[_why(status, reason)] = found.get(_why(status, reason), 0) + n
    return sorted(found.items(), key=lambda wn: (-wn[1], wn[0]))


def requeue_review(conn: Connection, key: str, now: datetime) -> bool:
    """An operator checked with the provider that a held message did not go out: send it."""
    q = update(T).where(T.c.key == key, T.c.status == REVIEW)
    return bool(conn.execute(q.values(status=QUEUED, reason=None, updated_at=now)).rowcount)


def fields_of(row: Any) -> dict[str, str]:
    return json.loads(row.merge_fields) if row.merge_fields else {}


def list_messages(conn: Connection, status: str | None, limit: int) -> list[Any]:
    """The newest messages (``arrears outbox list``): key, channel, recipient, status, reason, provider id."""
    q = select(T.c.key, T.c.channel, T.c.recipient, T.c.status, T.c.reason, T.c.provider_id).order_by(T.c.id.desc())
    if status:
        q = q.where(T.c.status == status)
    return list(conn.execute(q.limit(limit)))
