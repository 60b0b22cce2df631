"""What the guard reads (borrowers' standing: flags, opt-outs, disputes, conversations, contacts
made or due) and writes (decisions on planned actions and queued messages), in batches."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, bindparam, func, or_, select, text, update
from sqlalchemy.dialects import postgresql, sqlite

from arrears.guard import SUPPRESS, Decision, Standing
from arrears.store import DAY, as_moment
from models import (
    Borrower,
    BorrowerFlag,
    CollectionAction,
    ContactDecision,
    Conversation,
    Dispute,
    Loan,
    OutboxMessage,
    Suppression,
)
from models import (
    Contact as ContactRow,
)

A = CollectionAction.__table__  # type: ignore[attr-defined]
B = Borrower.__table__  # type: ignore[attr-defined]
F = BorrowerFlag.__table__  # type: ignore[attr-defined]
CT = ContactRow.__table__  # type: ignore[attr-defined]
CD = ContactDecision.__table__  # type: ignore[attr-defined]
CV = Conversation.__table__  # type: ignore[attr-defined]
D = Dispute.__table__  # type: ignore[attr-defined]
L = Loan.__table__  # type: ignore[attr-defined]
O = OutboxMessage.__table__  # type: ignore[attr-defined]  # noqa: E741
S = Suppression.__table__  # type: ignore[attr-defined]
CHUNK = 500
GUARDED = ("sms", "email", "letter", "call_task")
COMMITTED = ("queued", "sending", "sent", "delivered", "undelivered", "review")
WINDOW = timedelta(days=8)  # caps look 7 days back; deferrals look a few days ahead


@dataclass(frozen=True, slots=True)
class Reach:
    """How a borrower can be reached (the guard step builds its ``Contact`` from it)."""

    timezone: str
    phone: str | None
    email: str | None
    address: str | None
    sms_consent: bool
    email_consent: bool
    third_parties: int  # contacts on file
    consenting: int | None  # id of the first consenting third party with a phone


def _chunks(items: Sequence[Any]) -> Iterable[list[Any]]:
    for i in range(0, len(items), CHUNK):
        yield list(items[i : i + CHUNK])


def reach_of(conn: Connection, borrower_ids: Iterable[str]) -> dict[str, Reach]:
    ids = sorted(set(borrower_ids))
    out: dict[str, Reach] = {}
    for part in _chunks(ids):
        tp = (
            select(
                CT.c.borrower_id,
                func.count().label("n"),
                func.min(CT.c.id).filter(CT.c.consent.is_(True)).label("consenting"),
            )
            .where(CT.c.borrower_id.in_(part))
            .group_by(CT.c.borrower_id)
            .subquery()
        )
        q = select(
            B.c.borrower_id, B.c.timezone, B.c.phone, B.c.email, B.c.address, B.c.sms_consent, B.c.email_consent,
            tp.c.n, tp.c.consenting,
        ).select_from(B.outerjoin(tp, tp.c.borrower_id == B.c.borrower_id))  # fmt: skip
        q = q.where(B.c.borrower_id.in_(part))
        for r in conn.execute(q):
            out[r.borrower_id] = Reach(
                r.timezone, r.phone, r.email, r.address, bool(r.sms_consent), bool(r.email_consent), int(r.n or 0),
                r.consenting,
            )  # fmt: skip
    return out


def standings(
    conn: Connection, reach: dict[str, Reach], as_of: date, now: datetime, exclude: Iterable[str] = ()
) -> dict[str, Standing]:
    """Each borrower's standing around ``now``: open stop flags, opt-outs, disputes open on
    ``as_of``, the last conversation, and contacts made or due within 8 days either side
    (every channel; ``exclude``: keys being decided, which must not count against themselves)."""
    skip = set(exclude)
    ids = sorted(reach)
    flags: dict[str, dict[str, str]] = defaultdict(dict)
    opted: dict[str, dict[str, str]] = defaultdict(dict)
    disputed: dict[str, set[str]] = defaultdict(set)
    talked: dict[str, datetime] = {}
    made: dict[str, dict[str, tuple[str, str, datetime]]] = defaultdict(dict)  # borrower -> key -> (channel, aud, at)
    lo, hi = now - WINDOW, now + WINDOW
    for part in _chunks(ids):
        for r in conn.execute(
            select(F.c.borrower_id, F.c.flag, F.c.note).where(F.c.borrower_id.in_(part), F.c.cleared_at.is_(None))
        ):
            if r.flag.startswith("opt_out_"):
                opted[r.borrower_id][r.flag.removeprefix("opt_out_").replace("call", "call_task")] = "opt-out recorded"
            else:
                flags[r.borrower_id][r.flag] = r.note or ""
        by_address = {}
        for b in part:
            if reach[b].phone:
                by_address[("sms", reach[b].phone)] = b
            if reach[b].email:
                by_address[("email", reach[b].email.lower())] = b
        addresses = sorted({a for _c, a in by_address})
        for chunk in _chunks(addresses):
            for r in conn.execute(select(S.c.channel, S.c.address, S.c.reason).where(S.c.address.in_(chunk))):
                b = by_address.get((r.channel, r.address))
                if b:
                    opted[b].setdefault(r.channel, r.reason)
        q = (
            select(L.c.borrower_id, L.c.loan_no)
            .select_from(D.join(L, L.c.id == D.c.loan_id))
            .where(L.c.borrower_id.in_(part), D.c.opened_on <= DAY)
            .where(or_(D.c.resolved_on.is_(None), D.c.resolved_on > DAY))
        )
        for r in conn.execute(q, {"d": as_of}):
            disputed[r.borrower_id].add(r.loan_no)
        q = select(CV.c.borrower_id, func.max(CV.c.at)).where(CV.c.borrower_id.in_(part), CV.c.at <= now)
        for b, at in conn.execute(q.group_by(CV.c.borrower_id)):
            talked[b] = _aware(at)
        q = select(A.c.borrower_id, A.c.key, A.c.channel, A.c.audience, A.c.not_before).where(
            A.c.borrower_id.in_(part), A.c.status == "planned", A.c.rule.is_not(None),
            A.c.not_before >= lo, A.c.not_before <= hi,
        )  # fmt: skip
        for r in conn.execute(q):
            if r.key not in skip:
                made[r.borrower_id][r.key] = (r.channel, r.audience, _aware(r.not_before))
        moment = func.coalesce(O.c.sent_at, O.c.not_before, O.c.queued_at)
        q = select(O.c.borrower_id, O.c.key, O.c.channel, O.c.contact_id, moment.label("at")).where(
            O.c.borrower_id.in_(part), O.c.status.in_(COMMITTED), moment >= lo, moment <= hi
        )
        for r in conn.execute(q):
            if r.key not in skip:  # what the provider was asked is what counts
                aud = "third_party" if r.contact_id is not None else "borrower"
                made[r.borrower_id][r.key] = (r.channel, aud, _aware(r.at))
    out = {}
    for b in ids:
        per_channel: dict[str, list[datetime]] = defaultdict(list)
        third: list[datetime] = []
        for channel, aud, at in made[b].values():
            (third if aud == "third_party" else per_channel[channel]).append(at)
        out[b] = Standing(
            timezone=reach[b].timezone,
            flags=dict(flags[b]),
            opted_out=dict(opted[b]),
            disputed_loans=frozenset(disputed[b]),
            last_conversation=talked.get(b),
            contacts={c: tuple(sorted(v)) for c, v in per_channel.items()},
            third_party_contacts=tuple(sorted(third)),
        )
    return out


def _aware(value: Any) -> datetime:
    moment = as_moment(value)  # SQLite through func.coalesce/max loses the column type
    assert moment is not None
    return moment


# -- plan time ---------------------------------------------------------------------------


def undecided_actions(conn: Connection, as_of: date) -> list[Any]:
    """The day's contacts the guard has not decided yet (held ones too: their hold is recorded as
    the decision), a borrower's worst loan first."""
    return list(
        conn.execute(
            text(
                "SELECT a.id, a.key, a.borrower_id, a.channel, a.audience, a.template, a.loan_nos, a.status,"
                " a.reason, b.locale, p.dpd"
                " FROM collection_action a JOIN borrower b ON b.borrower_id = a.borrower_id"
                " LEFT JOIN position p ON p.as_of = a.as_of AND p.loan_id = a.loan_id"
                " WHERE a.as_of = :d AND a.rule IS NULL AND a.status IN ('planned', 'suppressed')"
                " AND a.channel IN ('sms', 'email', 'letter', 'call_task')"
                " ORDER BY a.borrower_id, p.dpd DESC, a.key"
            ).bindparams(DAY),
            {"d": as_of},
        )
    )


def record_plan_decisions(
    conn: Connection, as_of: date, decided: Sequence[tuple[Any, Decision]], now: datetime
) -> None:
    """Write each decision on its action (status, reason, rule, the moment) and to the log."""
    rows = []
    for action, d in decided:
        status = "suppressed" if d.verdict == SUPPRESS else action.status
        reason = action.reason if action.status == "suppressed" else (d.reason[:200] if d.verdict != "allow" else None)
        rows.append({"i": action.id, "s": status, "r": reason, "u": d.rule, "n": d.at})
    for part in _chunks(rows):
        conn.execute(
            update(A)
            .where(A.c.id == bindparam("i"))
            .values(status=bindparam("s"), reason=bindparam("r"), rule=bindparam("u"), not_before=bindparam("n")),
            part,
        )  # fmt: skip
    log_decisions(conn, [(a.key, as_of, a.borrower_id, a.channel, "plan", d) for a, d in decided], now)


def log_decisions(conn: Connection, items: Sequence[tuple[str, date, str, str, str, Decision]], now: datetime) -> None:
    rows = [
        {
            "key": key, "as_of": as_of, "borrower_id": b, "channel": ch, "phase": phase, "verdict": d.verdict,
            "rule": d.rule, "detail": d.detail[:500], "at": d.at, "decided_at": now,
        }
        for key, as_of, b, ch, phase, d in items
    ]  # fmt: skip
    for part in _chunks(rows):
        conn.execute(CD.insert(), part)


# -- send time ---------------------------------------------------------------------------


def loans_of_keys(conn: Connection, keys: Sequence[str]) -> dict[str, tuple[str, str]]:
    """key -> (covered loan numbers, audience) of the planned actions."""
    out = {}
    for part in _chunks(sorted(set(keys))):
        for r in conn.execute(select(A.c.key, A.c.loan_nos, A.c.audience).where(A.c.key.in_(part))):
            out[r.key] = (r.loan_nos, r.audience)
    return out


def defer_queued(conn: Connection, message_id: int, until: datetime, reason: str, now: datetime) -> bool:
    q = update(O).where(O.c.id == message_id, O.c.status == "queued")
    return bool(conn.execute(q.values(not_before=until, reason=reason[:300], updated_at=now)).rowcount)


# -- stop flags and conversations --------------------------------------------------------


def set_flag(
    conn: Connection, borrower_id: str, flag: str, note: str, on: date, now: datetime, actor: str | None
) -> bool:
    """Open a stop flag (a no-op when the same flag is already open)."""
    open_ = conn.execute(
        select(F.c.id).where(F.c.borrower_id == borrower_id, F.c.flag == flag, F.c.cleared_at.is_(None))
    ).first()
    if open_:
        return False
    conn.execute(F.insert().values(borrower_id=borrower_id, flag=flag, note=note, set_on=on, set_at=now, actor=actor))
    return True


def clear_flag(conn: Connection, borrower_id: str, flag: str, now: datetime) -> bool:
    q = update(F).where(F.c.borrower_id == borrower_id, F.c.flag == flag, F.c.cleared_at.is_(None))
    return bool(conn.execute(q.values(cleared_at=now)).rowcount)


def open_flags(conn: Connection, borrower_id: str) -> list[Any]:
    return list(
        conn.execute(select(F).where(F.c.borrower_id == borrower_id, F.c.cleared_at.is_(None)).order_by(F.c.id))
    )


def record_conversation(conn: Connection, key: str, borrower_id: str, at: datetime, channel: str, source: str) -> None:
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    stmt = dialect.insert(CV).values(key=key, borrower_id=borrower_id, at=at, channel=channel, source=source)
    conn.execute(stmt.on_conflict_do_nothing(index_elements=["key"]))


def decisions_for(conn: Connection, keys: Sequence[str]) -> list[Any]:
    q = select(CD).where(CD.c.key.in_(list(keys))).order_by(CD.c.key, CD.c.decided_at, CD.c.id)
    return list(conn.execute(q))


def decision_counts(conn: Connection, as_of: date) -> dict[tuple[str, str], int]:
    """(verdict, rule) -> the day's contacts by their latest decision (a message deferred at plan
    time and allowed at send time counts as allowed; one suppressed at send time as suppressed)."""
    latest = select(func.max(CD.c.id)).where(CD.c.as_of == DAY).group_by(CD.c.key).scalar_subquery()
    q = select(CD.c.verdict, CD.c.rule, func.count()).where(CD.c.id.in_(latest)).group_by(CD.c.verdict, CD.c.rule)
    return {(v, r): int(n) for v, r, n in conn.execute(q, {"d": as_of})}


def suppress_message(conn: Connection, message_id: int, reason: str, now: datetime) -> bool:
    q = update(O).where(O.c.id == message_id, O.c.status == "queued")
    return bool(conn.execute(q.values(status="suppressed", reason=reason[:300], updated_at=now)).rowcount)


def contacts_of_loan(conn: Connection, loan_id: int, loan_no: str, as_of: date) -> list[Any]:
    """The day's planned contacts that cover the loan (any channel but legal), with the status of
    their outbox message if they became one (``arrears why``)."""
    rows = conn.execute(
        text(
            "SELECT a.key, a.channel, a.action, a.audience, a.status, a.reason, a.loan_nos, o.status AS message"
            " FROM collection_action a LEFT JOIN outbox_message o ON o.key = a.key"
            " WHERE a.as_of = :d AND (a.loan_id = :l OR a.loan_nos LIKE :like) AND a.channel <> 'legal'"
            " ORDER BY a.channel, a.action"
        ).bindparams(DAY),
        {"d": as_of, "l": loan_id, "like": f"%{loan_no}%"},
    ).all()
    return [a for a in rows if loan_no in a.loan_nos.split(",")]
