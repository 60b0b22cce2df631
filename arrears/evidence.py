"""Evidence pack of a legal case: everything a lawyer needs to act, as a PDF and a JSON
sidecar with the same content. ID numbers, phones and emails are masked; letters are
listed with the SHA-256 of the archived PDF, so the firm can check the copies it gets."""

from __future__ import annotations

import hashlib
import json
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from sqlalchemy import Connection, select, text

from arrears.messaging.render import TEMPLATES
from arrears.money import from_cents
from arrears.privacy import mask_email, mask_id_number, mask_phone, mask_recipient
from arrears.settings import Settings
from arrears.store.borrower_says import disputes_of, hardships_of, promises_of
from arrears.store.cases import timeline
from arrears.store.legal import legal_case
from models import Borrower, Installment, Loan, Payment


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    return value


def _money(v: Any) -> str:
    return str(from_cents(v)) if isinstance(v, int) else str(v)


def evidence(conn: Connection, reference: str, settings: Settings) -> dict[str, Any]:
    """The pack's content as plain JSON-able data."""
    case, tasks = legal_case(conn, reference)
    loan = conn.execute(select(Loan.__table__).where(Loan.__table__.c.id == case.loan_id)).one()  # type: ignore[attr-defined]
    b = conn.execute(select(Borrower.__table__).where(Borrower.__table__.c.borrower_id == loan.borrower_id)).one()  # type: ignore[attr-defined]
    IT, PT = Installment.__table__, Payment.__table__  # type: ignore[attr-defined]
    schedule = conn.execute(select(IT).where(IT.c.loan_id == loan.id).order_by(IT.c.seq)).all()
    payments = conn.execute(select(PT).where(PT.c.loan_id == loan.id).order_by(PT.c.paid_on, PT.c.reference)).all()
    contacts = conn.execute(
        text(
            "SELECT as_of, channel, template, recipient, status, reason, provider_id, error_code, sent_at, delivered_at"
            " FROM outbox_message WHERE loan_id = :l ORDER BY as_of, id"
        ),
        {"l": loan.id},
    ).all()
    letters = conn.execute(
        text(
            "SELECT as_of, reference, template, status, total, deadline, sha256, path, pages, print_batch"
            " FROM letter WHERE loan_id = :l ORDER BY as_of, reference"
        ),
        {"l": loan.id},
    ).all()
    calls = conn.execute(
        text(
            "SELECT as_of, collector, status, outcome, note, logged_at FROM call_task WHERE loan_id = :l"
            " ORDER BY as_of, id"
        ),
        {"l": loan.id},
    ).all()
    position = conn.execute(
        text("SELECT * FROM position WHERE loan_id = :l ORDER BY as_of DESC LIMIT 1"), {"l": loan.id}
    ).first()
    open_tasks = [t for t in tasks if t.status in ("open", "in_progress")]
    data = {
        "legal_case": {
            "reference": case.reference,
            "opened_on": case.opened_on,
            "rule": case.rule,
            "track": case.track,
            "overdue_total": case.overdue_total,
            "status": case.status,
            "next_task": open_tasks[0].kind if open_tasks else "",
            "next_owner": open_tasks[0].owner if open_tasks else "",
            "next_due_on": open_tasks[0].due_on if open_tasks else "",
            "tasks": [
                {
                    "seq": t.seq,
                    "kind": t.kind,
                    "owner": t.owner,
                    "due_on": t.due_on,
                    "status": t.status,
                    "outcome": t.outcome,
                }
                for t in tasks
            ],
        },
        "lender": {
            "name": settings.lender_name_zh,
            "name_en": settings.lender_name_en,
            "address": settings.lender_address_zh,
        },
        "loan": {
            "loan_no": loan.loan_no,
            "product": loan.product,
            "currency": loan.currency,
            "principal": loan.principal,
            "annual_rate": loan.annual_rate,
            "penalty_rate_daily": loan.penalty_rate_daily,
            "late_fee": loan.late_fee,
            "grace_days": loan.grace_days,
            "contract_date": loan.contract_date,
        },
        "borrower": {
            "borrower_id": b.borrower_id,
            "name": b.name,
            "id_number": mask_id_number(b.id_number),
            "phone": mask_phone(b.phone),
            "email": mask_email(b.email),
            "address": b.address or "",
        },
        "position": None
        if position is None
        else {
            "as_of": position.as_of,
            "dpd": position.dpd,
            "stage": position.stage,
            "principal": _money(position.overdue_principal),
            "interest": _money(position.overdue_interest),
            "penalty": _money(position.overdue_penalty),
            "fees": _money(position.overdue_fees),
            "total": _money(position.overdue_total),
            "outstanding_principal": _money(position.outstanding_principal),
        },
        "schedule": [
            {
                "seq": i.seq,
                "due_date": i.due_date,
                "principal": i.principal_due,
                "interest": i.interest_due,
                "fees": i.fee_due,
            }
            for i in schedule
        ],
        "payments": [{"paid_on": p.paid_on, "amount": p.amount, "reference": p.reference} for p in payments],
        "contacts": [
            {
                "as_of": c.as_of,
                "channel": c.channel,
                "template": c.template,
                "to": mask_recipient(c.channel, c.recipient),
                "status": c.status,
                "reason": c.reason or "",
                "provider_id": c.provider_id or "",
                "error_code": c.error_code or "",
                "sent_at": c.sent_at,
                "delivered_at": c.delivered_at,
            }
            for c in contacts
        ],
        "letters": [
            {
                "as_of": t.as_of,
                "reference": t.reference,
                "template": t.template,
                "status": t.status,
                "total": _money(t.total),
                "deadline": t.deadline,
                "sha256": t.sha256 or "",
                "file": t.path or "",
                "pages": t.pages,
                "mail_house_batch": t.print_batch or "",
            }
            for t in letters
        ],
        "calls": [
            {
                "as_of": k.as_of,
                "collector": k.collector,
                "status": k.status,
                "outcome": k.outcome or "",
                "note": k.note,
                "logged_at": k.logged_at,
            }
            for k in calls
        ],
        "promises": [
            {
                "made_on": p.made_on,
                "promised_on": p.promised_on,
                "amount": p.amount,
                "status": p.status,
                "paid": p.paid,
                "by": p.actor,
                "source": p.source,
            }
            for p in promises_of(conn, loan.id)
        ],
        "disputes": [
            {
                "opened_on": d.opened_on,
                "reason": d.reason,
                "reply_by": d.reply_by,
                "status": d.status,
                "resolved_on": d.resolved_on,
                "note": d.resolution_note,
            }
            for d in disputes_of(conn, loan.id)
        ],
        "hardship": [
            {
                "kind": h.kind,
                "effective_on": h.effective_on,
                "approver": h.approver,
                "reason": h.reason,
                "waive_penalty": h.waive_penalty,
                "waive_interest": h.waive_interest,
                "waive_fees": h.waive_fees,
                "status": h.status,
            }
            for h in hardships_of(conn, loan.id)
        ],
        "timeline": [
            {"day": e.day, "at": e.at, "kind": e.kind, "actor": e.actor, "source": e.source, "detail": e.detail}
            for e in timeline(conn, loan.id)
        ],
    }
    return json.loads(json.dumps(data, default=_plain, ensure_ascii=False))


def render_pack_html(data: dict[str, Any], font: str) -> str:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES), undefined=StrictUndefined, autoescape=select_autoescape(["html", "j2"])
    )
    return env.get_template("legal/evidence_pack.html.j2").render(d=data, font=font)


def write_pack(data: dict[str, Any], out_dir: Path, settings: Settings) -> tuple[Path, Path]:
    """``<reference>.pdf`` and ``<reference>.json``; the JSON names the PDF's SHA-256."""
    from weasyprint import HTML

    reference = data["legal_case"]["reference"]
    pdf_path, json_path = out_dir / f"{reference}.pdf", out_dir / f"{reference}.json"
    pdf = HTML(string=render_pack_html(data, settings.letter_font), base_url=str(TEMPLATES)).write_pdf()
    pdf_path.write_bytes(pdf)
    sidecar = data | {"pdf": {"file": pdf_path.name, "sha256": hashlib.sha256(pdf).hexdigest()}}
    json_path.write_text(json.dumps(sidecar, ensure_ascii=False, indent=2), encoding="utf-8")
    return pdf_path, json_path
