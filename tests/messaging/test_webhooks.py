"""Webhooks: signed receipts move messages forward once; forged ones get 403 and change nothing."""

from __future__ import annotations

import json
import time

import httpx
from sqlalchemy import func, select
from twilio.request_validator import RequestValidator

from arrears.fakeprovider.callbacks import sign_sendgrid
from arrears.providers.sendgrid_email import SG_SIGNATURE, SG_TIMESTAMP
from models import MessageEvent, OutboxMessage, Suppression
from tests.factories import seed_outbox

SMS_KEY = "loan:LN1:m1_gentle_sms:sms:2026-11-23"
EMAIL_KEY = "loan:LN1:m1_gentle_email:email:2026-11-23"
PHONE = "+8613812345678"


def _count(engine, model) -> int:  # type: ignore[no-untyped-def]
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(model)).scalar_one())


def _status(engine, key: str) -> str:  # type: ignore[no-untyped-def]
    with engine.connect() as conn:
        return str(conn.execute(select(OutboxMessage.status).where(OutboxMessage.key == key)).scalar_one())


def _twilio_post(fake, path: str, params: dict[str, str], signature: str | None = None) -> int:  # type: ignore[no-untyped-def]
    url = f"{fake.webhooks.url}{path}"
    sig = RequestValidator(fake.state.auth_token).compute_signature(url, params) if signature is None else signature
    headers = {"X-Twilio-Signature": sig} if sig else {}
    return httpx.post(url, data=params, headers=headers, timeout=10).status_code


def _sendgrid_post(fake, events: list[dict], key=None) -> int:  # type: ignore[no-untyped-def]
    payload = json.dumps(events)
    ts = str(int(time.time()))
    sig = sign_sendgrid(key or fake.callbacks.key, payload, ts)
    headers = {"Content-Type": "application/json", SG_SIGNATURE: sig, SG_TIMESTAMP: ts}
    return httpx.post(f"{fake.webhooks.url}/sendgrid/events", content=payload, headers=headers, timeout=10).status_code


def _seed(fresh_db) -> None:  # type: ignore[no-untyped-def]
    seed_outbox(fresh_db, (SMS_KEY, "sms", PHONE, "sent", "SM1"), (EMAIL_KEY, "email", "z@example.cn", "sent", "X1"))


def test_a_signed_status_callback_marks_the_message_delivered_once(providers, fresh_db):
    _seed(fresh_db)
    params = {"MessageSid": "SM1", "MessageStatus": "delivered", "To": PHONE, "AccountSid": providers.state.account_sid}
    path = f"/twilio/status?key={SMS_KEY}"
    assert _twilio_post(providers, path, params) == 204
    assert _twilio_post(providers, path, params) == 204  # a replay
    assert _status(fresh_db, SMS_KEY) == "delivered"
    assert _count(fresh_db, MessageEvent) == 1


def test_a_late_sent_receipt_never_moves_a_delivered_message_back(providers, fresh_db):
    _seed(fresh_db)
    base = {"MessageSid": "SM1", "To": PHONE, "AccountSid": providers.state.account_sid}
    _twilio_post(providers, "/twilio/status", {**base, "MessageStatus": "delivered"})
    _twilio_post(providers, "/twilio/status", {**base, "MessageStatus": "sent"})
    assert _status(fresh_db, SMS_KEY) == "delivered"


def test_forged_or_unsigned_twilio_requests_get_403_and_change_nothing(providers, fresh_db):
    _seed(fresh_db)
    params = {"MessageSid": "SM1", "MessageStatus": "undelivered", "To": PHONE}
    assert _twilio_post(providers, "/twilio/status", params, signature="Zm9yZ2Vk") == 403
    assert _twilio_post(providers, "/twilio/status", params, signature="") == 403
    forged = RequestValidator("not-the-token").compute_signature(f"{providers.webhooks.url}/twilio/inbound", params)
    assert _twilio_post(providers, "/twilio/inbound", {"From": PHONE, "Body": "STOP"}, signature=forged) == 403
    assert _status(fresh_db, SMS_KEY) == "sent"
    assert _count(fresh_db, MessageEvent) == 0 and _count(fresh_db, Suppression) == 0


def test_a_stop_reply_puts_the_number_on_the_suppression_list(providers, fresh_db):
    _seed(fresh_db)
    assert providers.reply(PHONE, "退订") == 200
    with fresh_db.connect() as conn:
        assert conn.execute(select(Suppression.address, Suppression.reason)).all() == [(PHONE, "STOP")]


def test_sendgrid_events_are_verified_and_applied(providers, fresh_db):
    _seed(fresh_db)
    delivered = {
        "event": "delivered",
        "email": "z@example.cn",
        "sg_event_id": "e1",
        "timestamp": 1795000000,
        "arrears_key": EMAIL_KEY,
    }
    assert _sendgrid_post(providers, [delivered]) == 204
    assert _status(fresh_db, EMAIL_KEY) == "delivered"
    spam = {"event": "spamreport", "email": "Z@example.cn", "sg_event_id": "e2", "timestamp": 1795000100}
    assert _sendgrid_post(providers, [spam]) == 204
    with fresh_db.connect() as conn:
        assert conn.execute(select(Suppression.channel, Suppression.address, Suppression.reason)).all() == [
            ("email", "z@example.cn", "spam report")
        ]


def test_a_hard_bounce_marks_undelivered_and_suppresses_the_address(providers, fresh_db):
    seed_outbox(fresh_db, (EMAIL_KEY, "email", "gone@example.cn", "sent", "X1"))
    bounce = {
        "event": "bounce",
        "type": "bounce",
        "email": "gone@example.cn",
        "sg_event_id": "b1",
        "timestamp": 1795000000,
        "arrears_key": EMAIL_KEY,
        "reason": "550 no such user",
    }
    assert _sendgrid_post(providers, [bounce]) == 204
    assert _status(fresh_db, EMAIL_KEY) == "undelivered"
    assert _count(fresh_db, Suppression) == 1


def test_sendgrid_events_signed_with_another_key_get_403(providers, fresh_db):
    from cryptography.hazmat.primitives.asymmetric import ec

    _seed(fresh_db)
    event = {"event": "unsubscribe", "email": "z@example.cn", "sg_event_id": "u1", "timestamp": 1795000000}
    assert _sendgrid_post(providers, [event], key=ec.generate_private_key(ec.SECP256R1())) == 403
    url = f"{providers.webhooks.url}/sendgrid/events"
    assert httpx.post(url, content=json.dumps([event]), timeout=10).status_code == 403  # unsigned
    assert _count(fresh_db, Suppression) == 0 and _count(fresh_db, MessageEvent) == 0


def _sendgrid_raw(fake, body: bytes, ts: str | None = None, sign: bool = True) -> int:  # type: ignore[no-untyped-def]
    """POST raw bytes to the SendGrid endpoint, signed over those bytes (or not)."""
    import base64

    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec

    ts = ts or str(int(time.time()))
    headers = {"Content-Type": "application/json"}
    if sign:
        signature = fake.callbacks.key.sign(ts.encode() + body, ec.ECDSA(hashes.SHA256()))
        headers |= {SG_SIGNATURE: base64.b64encode(signature).decode(), SG_TIMESTAMP: ts}
    return httpx.post(f"{fake.webhooks.url}/sendgrid/events", content=body, headers=headers, timeout=10).status_code


def test_unsigned_or_forged_bodies_that_are_not_utf8_get_403_never_500(providers, fresh_db):
    junk = b"\xff\xfe\x00garbage\xc3"
    assert _sendgrid_raw(providers, junk, sign=False) == 403
    headers = {SG_SIGNATURE: "bm90IGEgc2lnbmF0dXJl", SG_TIMESTAMP: str(int(time.time()))}
    url = f"{providers.webhooks.url}/sendgrid/events"
    assert httpx.post(url, content=junk, headers=headers, timeout=10).status_code == 403
    twilio = f"{providers.webhooks.url}/twilio/status"
    assert httpx.post(twilio, content=junk, headers={"X-Twilio-Signature": "x"}, timeout=10).status_code == 403
    assert _count(fresh_db, MessageEvent) == 0


def test_signed_but_malformed_event_batches_get_400_and_change_nothing(providers, fresh_db):
    _seed(fresh_db)
    for body in (
        b"\xff\xfe not utf-8",
        b"{not json",
        b'{"event": "delivered"}',  # not a list
        b'["delivered", 3]',  # not objects
        json.dumps([{"event": "delivered", "timestamp": 10**20, "arrears_key": EMAIL_KEY}]).encode(),
        json.dumps([{"event": "delivered", "timestamp": "soon", "arrears_key": EMAIL_KEY}]).encode(),
    ):
        assert _sendgrid_raw(providers, body) == 400, body
    assert _count(fresh_db, MessageEvent) == 0 and _status(fresh_db, EMAIL_KEY) == "sent"


def test_a_signed_batch_older_than_the_replay_window_is_refused(providers, fresh_db):
    _seed(fresh_db)
    body = json.dumps([{"event": "delivered", "timestamp": 1795000000, "arrears_key": EMAIL_KEY}]).encode()
    assert _sendgrid_raw(providers, body, ts=str(int(time.time()) - 3600)) == 403
    assert _status(fresh_db, EMAIL_KEY) == "sent"
    assert _sendgrid_raw(providers, body) == 204
    assert _status(fresh_db, EMAIL_KEY) == "delivered"


def test_an_oversize_body_gets_413(providers, fresh_db):
    assert _sendgrid_raw(providers, b"[" + b" " * (10 * 1024 * 1024) + b"]") == 413
