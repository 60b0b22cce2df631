"""The webhook app (``arrears webhooks``): Twilio status callbacks and inbound messages, the
SendGrid Event Webhook, Alibaba Cloud SMS delivery reports and replies, and SMTP delivery status
notifications. Every request is verified before anything else is read from it — with the
provider's own SDK check (Twilio, SendGrid), or, where the provider does not sign its pushes
(Alibaba Cloud's HTTP push, a mail server piping its DSNs), by a secret token in the URL compared
in constant time; a bad or missing signature or token (or a SendGrid signature older than the
replay window) gets 403 and changes nothing, a verified request that is not what the provider
sends gets 400, a body over the size limit 413 — never a 500."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from sendgrid.helpers.eventwebhook import EventWebhook
from sqlalchemy import Engine
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route
from twilio.request_validator import RequestValidator

from arrears.book.records import PaymentRecord, parse_payment
from arrears.providers import aliyun_reports
from arrears.providers.dsn import NotADsn, parse_dsn
from arrears.providers.receipts import Receipt
from arrears.providers.sendgrid_email import SG_SIGNATURE, SG_TIMESTAMP
from arrears.providers.twilio_sms import TWILIO_STOP_KEYWORDS
from arrears.store.borrowers import borrowers_with_phone
from arrears.store.events import apply_receipt, opt_out, record_event
from arrears.store.guard import record_conversation
from models.message import DELIVERED, FAILED, SENT, UNDELIVERED

TWILIO_STATUS = {"sent": SENT, "delivered": DELIVERED, "undelivered": UNDELIVERED, "failed": FAILED}
# Replies that opt out (Twilio's standard keywords, plus the Chinese 退订/TD convention).
STOP_WORDS = TWILIO_STOP_KEYWORDS | {"TD", "退订"}
SENDGRID_STATUS = {"processed": SENT, "delivered": DELIVERED, "dropped": FAILED, "bounce": UNDELIVERED}
SENDGRID_OPT_OUT = {"spamreport": "spam report", "unsubscribe": "unsubscribe", "group_unsubscribe": "unsubscribe"}
EARLIEST_EVENT = 946_684_800  # 2000-01-01: an event timestamp before it (or a day in the future) is malformed
MAX_BODY_BYTES = 10 * 1024 * 1024
MAX_PAYMENT_BYTES = 64 * 1024  # one payment
PAY_TIMESTAMP = "X-Arrears-Timestamp"
PAY_SIGNATURE = "X-Arrears-Signature"


def payment_signature(key: str, timestamp: str, body: bytes) -> str:
    """The hex HMAC-SHA256 a payment call carries (what the lender's payment system computes)."""
    return hmac.new(key.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


class Malformed(ValueError):
    """A signed request that is not what the provider sends."""


def create_app(
    engine: Engine,
    *,
    twilio_auth_token: str,
    sendgrid_public_key: str,
    public_base_url: str,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
    replay_window_s: float = 600,
    max_body_bytes: int = MAX_BODY_BYTES,
    aliyun_report_token: str = "",
    smtp_dsn_token: str = "",
    payment_key: str = "",
    record_payment: Callable[[PaymentRecord, datetime], Any] | None = None,
) -> Starlette:
    """``public_base_url`` is where providers reach this app: Twilio signs the full URL it called.
    ``replay_window_s``: how old a SendGrid signature may be (its timestamp is signed)."""
    validator = RequestValidator(twilio_auth_token) if twilio_auth_token else None
    verifier = EventWebhook(sendgrid_public_key) if sendgrid_public_key else None
    base = public_base_url.rstrip("/")

    def public_url(request: Request) -> str:
        query = request.url.query
        return f"{base}{request.url.path}" + (f"?{query}" if query else "")

    async def twilio_form(request: Request) -> dict[str, str] | Response:
        """The signed form, or the answer to give: 403 unsigned or forged, 413 too large."""
        signature = request.headers.get("X-Twilio-Signature", "")
        if validator is None or not signature:
            return PlainTextResponse("forbidden", status_code=403)
        body = await request.body()
        if len(body) > max_body_bytes:
            return PlainTextResponse("too large", status_code=413)
        try:
            form = {k: str(v) for k, v in (await request.form()).items()}
        except Exception:  # noqa: BLE001 - any form the parser refuses cannot carry a valid signature
            return PlainTextResponse("forbidden", status_code=403)
        if not validator.validate(public_url(request), form, signature):
            return PlainTextResponse("forbidden", status_code=403)
        return form

    async def twilio_status(request: Request) -> Response:
        form = await twilio_form(request)
        if isinstance(form, Response):
            return form
        sid, status = form.get("MessageSid", ""), form.get("MessageStatus", "")
        code = form.get("ErrorCode") or None
        t = now()
        with engine.begin() as conn:
            record_event(
                conn,
                provider="twilio",
                event=status,
                occurred_at=t,
                dedupe=f"twilio:{sid}:{status}",
                key=request.query_params.get("key"),
                provider_id=sid,
                new_status=TWILIO_STATUS.get(status),
                detail=f"error {code}" if code else None,
                error_code=code,
            )
            if code == "21610":
                opt_out(conn, "sms", form.get("To", ""), "STOP", "twilio:21610", t)
        return Response(status_code=204)

    async def twilio_inbound(request: Request) -> Response:
        form = await twilio_form(request)
        if isinstance(form, Response):
            return form
        body = form.get("Body", "").strip()
        stop = form.get("OptOutType", "").upper() == "STOP" or body.upper() in STOP_WORDS
        t = now()
        with engine.begin() as conn:
            record_event(
                conn,
                provider="twilio",
                event="inbound-stop" if stop else "inbound",
                occurred_at=t,
                dedupe=f"twilio:{form.get('MessageSid', '')}:inbound",
                provider_id=form.get("MessageSid"),
            )
            if stop:
                opt_out(conn, "sms", form.get("From", ""), "STOP", "twilio:inbound", t)
            else:  # a reply is a conversation: the guard pauses contact for the policy's gap
                replied(conn, form.get("From", ""), form.get("MessageSid", ""), t)
        # an empty TwiML answer: Twilio's own STOP handling sends the confirmation
        return Response("<Response/>", media_type="application/xml")

    async def sendgrid_events(request: Request) -> Response:
        signature = request.headers.get(SG_SIGNATURE, "")
        timestamp = request.headers.get(SG_TIMESTAMP, "")
        if verifier is None or not signature or not timestamp:
            return PlainTextResponse("forbidden", status_code=403)
        body = await request.body()
        if len(body) > max_body_bytes:
            return PlainTextResponse("too large", status_code=413)
        if not _signed(verifier, body, signature, timestamp):  # over the raw bytes, before reading them
            return PlainTextResponse("forbidden", status_code=403)
        t = now()
        if not timestamp.isdigit() or abs(t.timestamp() - int(timestamp)) > replay_window_s:
            return PlainTextResponse("forbidden: signature outside the replay window", status_code=403)
        try:
            events = _sendgrid_events(body, t)
        except Malformed as err:
            return PlainTextResponse(f"bad payload: {err}", status_code=400)
        with engine.begin() as conn:
            for ev in events:
                _apply_sendgrid(conn, ev, t)
        return Response(status_code=204)

    async def tokened(request: Request, token: str) -> bytes | Response:
        """The body of a request whose URL carries ``token`` (403 otherwise, or when none is set)."""
        given = request.query_params.get("token", "")
        if not token or not hmac.compare_digest(given.encode(), token.encode()):
            return PlainTextResponse("forbidden", status_code=403)
        body = await request.body()
        if len(body) > max_body_bytes:
            return PlainTextResponse("too large", status_code=413)
        return body

    def apply(receipts: list[Receipt]) -> None:
        with engine.begin() as conn:
            for r in receipts:
                apply_receipt(conn, r, now())

    async def aliyun_push(request: Request, parse: Callable[[bytes, datetime], list[Receipt]]) -> Response:
        body = await tokened(request, aliyun_report_token)
        if isinstance(body, Response):
            return body
        try:
            apply(parse(body, now()))
        except aliyun_reports.BadReport as err:
            return PlainTextResponse(f"bad payload: {err}", status_code=400)
        return JSONResponse(aliyun_reports.ACK)

    async def aliyun_delivery(request: Request) -> Response:
        return await aliyun_push(request, aliyun_reports.parse_reports)

    async def aliyun_replies(request: Request) -> Response:
        return await aliyun_push(request, aliyun_reports.parse_replies)

    async def smtp_dsn(request: Request) -> Response:
        body = await tokened(request, smtp_dsn_token)
        if isinstance(body, Response):
            return body
        try:
            apply(parse_dsn(body, now()))
        except NotADsn as err:
            return PlainTextResponse(f"bad payload: {err}", status_code=400)
        return Response(status_code=204)

    async def payments(request: Request) -> Response:
        """A payment from the lender's payment system, signed: ``X-Arrears-Timestamp`` (Unix seconds)
        and ``X-Arrears-Signature: sha256=<hex HMAC-SHA256 of "<timestamp>." + body>``; recorded once
        per reference (a replay answers what the first call did), acted on at once."""
        stamp, signature = request.headers.get(PAY_TIMESTAMP, ""), request.headers.get(PAY_SIGNATURE, "")
        if not payment_key or record_payment is None or not stamp.isdigit() or not signature.startswith("sha256="):
            return PlainTextResponse("forbidden", status_code=403)
        body = await request.body()
        if len(body) > MAX_PAYMENT_BYTES:
            return PlainTextResponse("too large", status_code=413)
        if not hmac.compare_digest(signature.removeprefix("sha256="), payment_signature(payment_key, stamp, body)):
            return PlainTextResponse("forbidden", status_code=403)
        if abs(now().timestamp() - int(stamp)) > replay_window_s:
            return PlainTextResponse("forbidden: signature outside the replay window", status_code=403)
        try:
            data = json.loads(body.decode("utf-8"))
            if not isinstance(data, dict):
                raise ValueError("not a JSON object")
            payment = parse_payment({k: str(data.get(k, "")) for k in ("loan_no", "paid_on", "amount", "reference")})
            done = record_payment(payment, now())
        except (ValueError, UnicodeDecodeError) as err:  # FieldError, PaymentRefused, bad JSON
            return PlainTextResponse(f"bad payment: {err}", status_code=400)
        return JSONResponse({
            "reference": done.reference, "status": "recorded" if done.new else "already recorded",
            "cured": done.cured, "overdue_after": str(done.overdue_after), "stopped": done.stopped,
            "promise": done.promise,
        })  # fmt: skip

    async def health(_request: Request) -> Response:
        return PlainTextResponse("ok")

    return Starlette(
        routes=[
            Route("/twilio/status", twilio_status, methods=["POST"]),
            Route("/twilio/inbound", twilio_inbound, methods=["POST"]),
            Route("/sendgrid/events", sendgrid_events, methods=["POST"]),
            Route("/aliyun/reports", aliyun_delivery, methods=["POST"]),
            Route("/aliyun/replies", aliyun_replies, methods=["POST"]),
            Route("/smtp/dsn", smtp_dsn, methods=["POST"]),
            Route("/payments", payments, methods=["POST"]),
            Route("/healthz", health, methods=["GET"]),
        ]
    )


def _signed(verifier: EventWebhook, body: bytes, signature: str, timestamp: str) -> bool:
    """SendGrid's check (ECDSA P-256 over the timestamp and the body), with the SDK's key, on the
    raw bytes: a body that is not UTF-8 is simply not signed."""
    try:
        verifier.public_key.verify(
            base64.b64decode(signature, validate=True), timestamp.encode() + body, ec.ECDSA(hashes.SHA256())
        )
    except (InvalidSignature, binascii.Error, ValueError, TypeError, UnicodeEncodeError):
        return False
    return True


def _sendgrid_events(body: bytes, now: datetime) -> list[dict[str, Any]]:
    """The signed body as SendGrid sends it: a JSON list of event objects with sane timestamps."""
    try:
        events = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise Malformed("not JSON") from None
    if not isinstance(events, list) or not all(isinstance(ev, dict) for ev in events):
        raise Malformed("not a list of event objects")
    for ev in events:
        stamp = ev.get("timestamp", int(now.timestamp()))
        plausible = isinstance(stamp, int) and not isinstance(stamp, bool)
        if not plausible or not EARLIEST_EVENT <= stamp <= now.timestamp() + 86_400:
            raise Malformed(f"event timestamp {str(stamp)[:30]!r} is not a plausible epoch second")
    return events


def _apply_sendgrid(conn: Any, ev: dict[str, Any], t: datetime) -> None:
    event = str(ev.get("event", ""))
    email = str(ev.get("email", "")).lower()
    msg_id = str(ev.get("sg_message_id", ""))
    hard_bounce = event == "bounce" and ev.get("type", "bounce") == "bounce"
    occurred = datetime.fromtimestamp(int(ev.get("timestamp", t.timestamp())), UTC)
    record_event(
        conn,
        provider="sendgrid",
        event=event,
        occurred_at=occurred,
        dedupe=f"sendgrid:{ev.get('sg_event_id') or msg_id + ':' + event}",
        key=ev.get("arrears_key"),
        provider_id=None,
        new_status=SENDGRID_STATUS.get(event),
        detail=str(ev.get("reason") or "") or None,
    )
    if event in SENDGRID_OPT_OUT:
        opt_out(conn, "email", email, SENDGRID_OPT_OUT[event], f"sendgrid:{event}", t)
    elif hard_bounce:
        opt_out(conn, "email", email, "hard bounce", "sendgrid:bounce", t)


def replied(conn: Any, phone: str, sid: str, at: datetime) -> None:
    """A reply from a borrower's phone is a conversation with each borrower on that number."""
    for borrower_id in borrowers_with_phone(conn, phone):
        record_conversation(conn, f"twilio:{sid}:{borrower_id}", borrower_id, at, "sms", "twilio:reply")
