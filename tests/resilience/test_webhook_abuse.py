"""The webhook app under abuse on loopback: forged and missing signatures, replays, oversize and
malformed bodies, and a burst of 10,000 signed events — each refused (403, 400, 413) or applied
once; the app stays up and its memory stays bounded."""

from __future__ import annotations

import base64
import json
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from sqlalchemy import func, select

from arrears.fakeprovider.callbacks import sign_sendgrid
from arrears.fakeprovider.server import BackgroundServer
from arrears.providers.sendgrid_email import SG_SIGNATURE, SG_TIMESTAMP
from arrears.webhooks import create_app
from models import MessageEvent, OutboxMessage
from tests.factories import seed_outbox

BURST, PER_REQUEST = 10_000, 100


def _rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _post(url: str, key: ec.EllipticCurvePrivateKey, events: list[dict], client: httpx.Client) -> int:
    payload = json.dumps(events)
    ts = str(int(time.time()))
    headers = {"Content-Type": "application/json", SG_SIGNATURE: sign_sendgrid(key, payload, ts), SG_TIMESTAMP: ts}
    return client.post(f"{url}/sendgrid/events", content=payload, headers=headers, timeout=60).status_code


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)  # the app under load; its SQL runs on both elsewhere
def test_a_burst_of_signed_events_and_every_kind_of_abuse_are_refused_or_applied_once(fresh_db):
    keys = [f"loan:LN1:m1_gentle_email:email:2026-11-{d:02d}" for d in range(1, 21)]
    seed_outbox(fresh_db, *[(k, "email", f"b{i}@example.cn", "sent", None) for i, k in enumerate(keys)])
    key = ec.generate_private_key(ec.SECP256R1())
    der = key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    public = base64.b64encode(der).decode()
    app = create_app(fresh_db, twilio_auth_token="t", sendgrid_public_key=public, public_base_url="http://127.0.0.1",
                     max_body_bytes=2 * 1024 * 1024)  # fmt: skip
    server = BackgroundServer(app).start()
    url = server.url
    try:
        events = [
            {"email": f"b{i % 20}@example.cn", "timestamp": int(time.time()), "event": "delivered",
             "sg_event_id": f"ev-{i}", "sg_message_id": f"m{i % 20}", "arrears_key": keys[i % 20]}
            for i in range(BURST)
        ]  # fmt: skip
        requests = [events[i : i + PER_REQUEST] for i in range(0, BURST, PER_REQUEST)]
        before = _rss_mb()
        with httpx.Client() as client, ThreadPoolExecutor(8) as pool:
            codes = list(pool.map(lambda evs: _post(url, key, evs, client), requests))
            replayed = list(pool.map(lambda evs: _post(url, key, evs, client), requests[:20]))  # the same again
        assert set(codes) == {204} and set(replayed) == {204}
        with fresh_db.connect() as conn:
            assert conn.execute(select(func.count()).select_from(MessageEvent)).scalar_one() == BURST  # once each
            statuses = set(conn.execute(select(OutboxMessage.status)).scalars())
        assert statuses == {"delivered"}
        assert _rss_mb() - before < 150, "the app's memory grew without bound"

        forged_key = ec.generate_private_key(ec.SECP256R1())
        with httpx.Client() as client:
            assert _post(url, forged_key, events[:1], client) == 403
            assert client.post(f"{url}/sendgrid/events", json=events[:1]).status_code == 403  # unsigned
            ts = str(int(time.time()))
            body = b"{not json"
            sig = sign_sendgrid(key, body.decode(), ts)
            headers = {SG_SIGNATURE: sig, SG_TIMESTAMP: ts}
            assert client.post(f"{url}/sendgrid/events", content=body, headers=headers).status_code == 400
            huge = json.dumps([events[0]] * 30_000)  # ~4 MB: over the app's 2 MB limit
            headers = {SG_SIGNATURE: sign_sendgrid(key, huge, ts), SG_TIMESTAMP: ts}
            assert client.post(f"{url}/sendgrid/events", content=huge, headers=headers).status_code == 413
            old, one = str(int(time.time()) - 3600), json.dumps(events[:1])
            headers = {SG_SIGNATURE: sign_sendgrid(key, one, old), SG_TIMESTAMP: old}
            assert client.post(f"{url}/sendgrid/events", content=one, headers=headers).status_code == 403  # too late
            assert client.post(f"{url}/twilio/status", data={"MessageSid": "x"}).status_code == 403
            assert client.post(f"{url}/aliyun/reports", content=b"[]").status_code == 403
            assert client.post(f"{url}/smtp/dsn", content=b"x").status_code == 403
            assert client.post(f"{url}/payments", content=b"{}").status_code == 403
            assert client.get(f"{url}/healthz").text == "ok"  # still up
        with fresh_db.connect() as conn:
            assert conn.execute(select(func.count()).select_from(MessageEvent)).scalar_one() == BURST
    finally:
        server.stop()
