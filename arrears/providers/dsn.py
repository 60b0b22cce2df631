"""Delivery status notifications (RFC 3464) for mail sent over SMTP, as receipts: the bounce or
success report a mail server returns, read from a mailbox or posted to the webhook app.

A DSN is a ``multipart/report; report-type=delivery-status``: a per-message block
(``Original-Envelope-Id``), one block per recipient (``Final-Recipient``, ``Action``, ``Status``,
``Diagnostic-Code``), and the original message's headers, which carry our ``Message-ID`` and
``X-Arrears-Key`` (``arrears.providers.smtp_email``). ``failed`` with a 5.x.x status is a hard
bounce (the address is suppressed, as for SendGrid), ``delivered`` moves the message on,
``delayed`` is only recorded. Anything that is not a DSN gives no receipt (``NotADsn``)."""

from __future__ import annotations

from datetime import UTC, datetime
from email import message_from_bytes
from email.message import Message
from email.parser import HeaderParser
from email.policy import default
from email.utils import parsedate_to_datetime

from arrears.providers.receipts import Receipt
from arrears.providers.smtp_email import KEY_HEADER
from models.message import DELIVERED, UNDELIVERED

STATUS = {"failed": UNDELIVERED, "delivered": DELIVERED, "expanded": DELIVERED}


class NotADsn(ValueError):
    """The message is not a delivery status notification."""


def _original_headers(report: Message) -> Message | None:
    for part in report.walk():
        kind = part.get_content_type()
        if kind == "text/rfc822-headers":
            payload = part.get_payload(decode=True)
            text = payload.decode("utf-8", "replace") if isinstance(payload, bytes) else str(part.get_payload())
            return HeaderParser().parsestr(text)
        if kind == "message/rfc822":
            inner = part.get_payload()
            return inner[0] if isinstance(inner, list) and inner else None
    return None


def _blocks(report: Message) -> list[Message]:
    for part in report.walk():
        if part.get_content_type() == "message/delivery-status":
            payload = part.get_payload()
            return [b for b in payload if isinstance(b, Message)] if isinstance(payload, list) else []
    return []


def _when(*values: str | None) -> datetime | None:
    for value in values:
        if value:
            try:
                at = parsedate_to_datetime(value)
            except (TypeError, ValueError):
                continue
            return at if at.tzinfo else at.replace(tzinfo=UTC)
    return None


def _value(field: str | None) -> str:
    """``rfc822; user@example.com`` -> ``user@example.com``."""
    return (field or "").partition(";")[2].strip() or (field or "").strip()


def parse_dsn(raw: bytes, received_at: datetime) -> list[Receipt]:
    """One receipt per recipient block of the DSN."""
    report = message_from_bytes(raw, policy=default)
    if report.get_content_type() != "multipart/report" or report.get_param("report-type") != "delivery-status":
        raise NotADsn("not a multipart/report of report-type delivery-status")
    blocks = _blocks(report)
    if not blocks:
        raise NotADsn("no message/delivery-status part")
    per_message, recipients = blocks[0], blocks[1:]
    original = _original_headers(report)
    message_id = str(original.get("Message-ID", "")).strip().strip("<>") if original else ""
    key = str(original.get(KEY_HEADER, "")).strip() if original else ""
    envid = str(per_message.get("Original-Envelope-Id", "")).strip()
    receipts = []
    for block in recipients:
        action = str(block.get("Action", "")).strip().lower()
        status = str(block.get("Status", "")).strip()
        recipient = _value(block.get("Final-Recipient") or block.get("Original-Recipient")).lower()
        at = _when(block.get("Last-Attempt-Date"), per_message.get("Arrival-Date")) or received_at
        hard = action == "failed" and status.startswith("5")
        receipts.append(
            Receipt(
                provider="smtp", channel="email", event=action, occurred_at=at,
                dedupe=f"smtp:{message_id or envid}:{recipient}:{action}:{status}",
                key=key or None, provider_id=message_id or None, new_status=STATUS.get(action),
                detail=_value(block.get("Diagnostic-Code"))[:300] or None, error_code=status[:64] or None,
                opt_out=recipient if hard else None, opt_out_reason="hard bounce" if hard else "",
            )  # fmt: skip
        )
    return receipts
