"""The evidence pack of a legal case as plain, JSON-able data (pure over rows read from the
store): everything a lawyer needs to act. ID numbers, phones and emails are masked unless the
export is an audited unmasked one (a firm filing a claim needs the real identity); letters are
listed with the SHA-256 of the archived PDF, so the firm can check the copies it gets. Amounts
are decimal strings, rates decimal fractions, and every timestamp is ISO 8601 to the second
with the lender's UTC offset."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from arrears.money import from_cents
from arrears.privacy import mask_email, mask_id_number, mask_phone, mask_recipient
from arrears.templating.formats import moment


@dataclass(frozen=True)
class EvidenceRows:
    """What the store reads for one legal case (rows as the database gives them)."""

    case: Any
    tasks: Sequence[Any]
    loan: Any
    borrower: Any
    position: Any | None
    schedule: Sequence[Any]
    payments: Sequence[Any]
    contacts: Sequence[Any]
    letters: Sequence[Any]
    calls: Sequence[Any]
    promises: Sequence[Any]
    disputes: Sequence[Any]
    hardship: Sequence[Any]
    timeline: Sequence[Any]


@dataclass(frozen=True)
class PackLender:
    name: str
    name_en: str
    address: str
    timezone: str = "Asia/Shanghai"  # timestamps are stated in the lender's time


@dataclass(frozen=True)
class Disclosure:
    """How much identity a pack shows: masked (the default), or — for an outside firm filing a
    claim — the clear ID number (decrypted by the caller), phone and email, with who asked, why
    and the audit record it was logged under."""

    unmasked: bool = False
    id_number: str = ""
    actor: str = ""
    reason: str = ""
    audit_id: int | None = None


MASKED = Disclosure()


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    return value


def _money(v: Any) -> str:
    return str(from_cents(v)) if isinstance(v, int) else str(v)


def _pick(row: Any, *names: str, **renamed: str) -> dict[str, Any]:
    """Columns of a row by name (``renamed``: pack name -> column)."""
    return {n: getattr(row, n) for n in names} | {k: getattr(row, c) for k, c in renamed.items()}


def _legal_case(r: EvidenceRows) -> dict[str, Any]:
    case, tasks = r.case, r.tasks
    open_tasks = [t for t in tasks if t.status in ("open", "in_progress")]
    return _pick(case, "reference", "opened_on", "rule", "track", "overdue_total", "status") | {
        "next_task": open_tasks[0].kind if open_tasks else "",
        "next_owner": open_tasks[0].owner if open_tasks else "",
        "next_due_on": open_tasks[0].due_on if open_tasks else "",
        "tasks": [_pick(t, "seq", "kind", "owner", "due_on", "status", "outcome") for t in tasks],
    }


def _position(p: Any | None) -> dict[str, Any] | None:
    if p is None:
        return None
    amounts = {
        "principal": p.overdue_principal, "interest": p.overdue_interest, "penalty": p.overdue_penalty,
        "fees": p.overdue_fees, "total": p.overdue_total, "outstanding_principal": p.outstanding_principal,
    }  # fmt: skip
    return {"as_of": p.as_of, "dpd": p.dpd, "stage": p.stage} | {k: _money(v) for k, v in amounts.items()}


def _at(value: Any, zone: ZoneInfo) -> str:
    """A stored timestamp (aware, or naive UTC as SQLite gives raw rows back) as ISO 8601 to the
    second in the lender's timezone; "" when there is none."""
    return moment(value, zone).isoformat() if value else ""


def _contact(c: Any, zone: ZoneInfo, d: Disclosure) -> dict[str, Any]:
    return {
        "as_of": c.as_of, "channel": c.channel, "template": c.template,
        "to": c.recipient if d.unmasked else mask_recipient(c.channel, c.recipient),
        "status": c.status, "reason": c.reason or "", "provider_id": c.provider_id or "",
        "error_code": c.error_code or "", "sent_at": _at(c.sent_at, zone), "delivered_at": _at(c.delivered_at, zone),
    }  # fmt: skip


def _letter(t: Any) -> dict[str, Any]:
    return {
        "as_of": t.as_of, "reference": t.reference, "template": t.template, "status": t.status,
        "total": _money(t.total), "deadline": t.deadline, "sha256": t.sha256 or "", "file": t.path or "",
        "pages": t.pages, "mail_house_batch": t.print_batch or "",
    }  # fmt: skip


def _borrower(b: Any, d: Disclosure) -> dict[str, Any]:
    if d.unmasked:
        identity = {"id_number": d.id_number, "phone": b.phone or "", "email": b.email or ""}
    else:
        identity = {
            "id_number": mask_id_number(b.id_number), "phone": mask_phone(b.phone), "email": mask_email(b.email)
        }  # fmt: skip
    return {"borrower_id": b.borrower_id, "name": b.name} | identity | {"address": b.address or ""}


def _disclosure(d: Disclosure) -> dict[str, Any]:
    if not d.unmasked:
        return {"masked": True}
    return {"masked": False, "exported_by": d.actor, "reason": d.reason, "audit_id": d.audit_id}


def evidence_pack(r: EvidenceRows, lender: PackLender, disclosure: Disclosure = MASKED) -> dict[str, Any]:
    """The pack's content as plain JSON-able data (strings, numbers, lists, dicts)."""
    loan, b, zone = r.loan, r.borrower, ZoneInfo(lender.timezone)
    data = {
        "legal_case": _legal_case(r),
        "disclosure": _disclosure(disclosure),
        "lender": {"name": lender.name, "name_en": lender.name_en, "address": lender.address},
        "loan": _pick(
            loan, "loan_no", "product", "currency", "principal", "annual_rate", "penalty_rate_daily", "late_fee",
            "grace_days", "contract_date",
        ),  # fmt: skip
        "borrower": _borrower(b, disclosure),
        "position": _position(r.position),
        "schedule": [
            _pick(i, "seq", "due_date", principal="principal_due", interest="interest_due", fees="fee_due")
            for i in r.schedule
        ],
        "payments": [_pick(p, "paid_on", "amount", "reference") for p in r.payments],
        "contacts": [_contact(c, zone, disclosure) for c in r.contacts],
        "letters": [_letter(t) for t in r.letters],
        "calls": [
            _pick(k, "as_of", "collector", "status", "note")
            | {"outcome": k.outcome or "", "logged_at": _at(k.logged_at, zone)}
            for k in r.calls
        ],
        "promises": [
            _pick(p, "made_on", "promised_on", "amount", "status", "paid") | {"by": p.actor, "source": p.source}
            for p in r.promises
        ],
        "disputes": [
            _pick(d, "opened_on", "reason", "reply_by", "status", "resolved_on", note="resolution_note")
            for d in r.disputes
        ],
        "hardship": [
            _pick(h, "kind", "effective_on", "approver", "reason", "waive_penalty", "waive_interest", "waive_fees",
                  "status")
            for h in r.hardship
        ],  # fmt: skip
        "timeline": [
            _pick(e, "day", "kind", "actor", "source", "detail") | {"at": _at(e.at, zone)} for e in r.timeline
        ],
    }
    return json.loads(json.dumps(data, default=_plain, ensure_ascii=False))  # type: ignore[no-any-return]
