"""Alibaba Cloud SMS reports as receipts: delivery reports (SmsReport) and replies (SmsUp), both
pushed by Alibaba as a JSON array over HTTP (回执消息, HTTP 批量推送). Alibaba does not sign these
pushes: the webhook app takes them only on a URL carrying ``ARREARS_ALIYUN_REPORT_TOKEN`` (set the
same URL in the console), and answers ``{"code": 0, "msg": "接收成功"}`` as Alibaba expects."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from arrears.providers.receipts import Receipt
from models.message import DELIVERED, UNDELIVERED

# Replies that opt out: the 退订 convention every template ends with ("回复TD退订"), and STOP.
OPT_OUT_REPLIES = frozenset({"TD", "T", "退订", "STOP", "UNSUBSCRIBE"})
ACK = {"code": 0, "msg": "接收成功"}
CHINA = ZoneInfo("Asia/Shanghai")  # the time zone of the reports' timestamps


class BadReport(ValueError):
    """A pushed body that is not what Alibaba sends."""


def e164(number: str) -> str:
    """A number as Alibaba reports it (11 mainland digits, or a country code and number) in E.164."""
    digits = number.strip().lstrip("+")
    return f"+86{digits}" if len(digits) == 11 and digits.startswith("1") else f"+{digits}"


def _items(body: bytes) -> list[dict[str, Any]]:
    try:
        items = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise BadReport("not JSON") from None
    if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
        raise BadReport("not a JSON array of objects")
    return items


def _time(value: object, fallback: datetime) -> datetime:
    try:
        return datetime.strptime(str(value), "%Y-%m-%d %H:%M:%S").replace(tzinfo=CHINA)
    except ValueError:
        return fallback


def parse_reports(body: bytes, received_at: datetime) -> list[Receipt]:
    """SmsReport: one receipt per message. The provider id is ``<biz_id>/<number>`` (what the send
    recorded); ``out_id`` is our key for a message sent alone."""
    receipts = []
    for item in _items(body):
        phone, biz = str(item.get("phone_number", "")), str(item.get("biz_id", ""))
        if not phone or not biz:
            raise BadReport("a report without phone_number or biz_id")
        out_id = str(item.get("out_id") or "")
        ok = item.get("success") is True
        code = str(item.get("err_code") or "")
        receipts.append(
            Receipt(
                provider="aliyun", channel="sms", event="DELIVERED" if ok else code or "FAILED",
                dedupe=f"aliyun:{biz}:{phone}:{code}", occurred_at=_time(item.get("report_time"), received_at),
                key=out_id if out_id and not out_id.startswith("batch-") else None, provider_id=f"{biz}/{phone}",
                new_status=DELIVERED if ok else UNDELIVERED, detail=None if ok else str(item.get("err_msg", ""))[:300],
                error_code=None if ok else code[:64],
            )  # fmt: skip
        )
    return receipts


def parse_replies(body: bytes, received_at: datetime) -> list[Receipt]:
    """SmsUp: a borrower's reply. TD/退订 (or STOP) opts the number out; anything else is a
    conversation, which the guard treats as one (contact pauses)."""
    receipts = []
    for item in _items(body):
        phone = str(item.get("phone_number", ""))
        if not phone:
            raise BadReport("a reply without phone_number")
        content = str(item.get("content", "")).strip()
        stop = content.upper() in OPT_OUT_REPLIES
        seq = str(item.get("sequence_id", "")) or f"{phone}:{item.get('send_time', '')}"
        receipts.append(
            Receipt(
                provider="aliyun", channel="sms", event="inbound-stop" if stop else "inbound",
                dedupe=f"aliyun:up:{seq}", occurred_at=_time(item.get("send_time"), received_at),
                opt_out=e164(phone) if stop else None, opt_out_reason="TD" if stop else "",
                reply_from=None if stop else e164(phone),
            )  # fmt: skip
        )
    return receipts
