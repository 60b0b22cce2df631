"""Signed callbacks from the fake to the webhook app, posted from a background thread
the way the real providers post them: Twilio status callbacks and inbound messages signed
with the auth token (``X-Twilio-Signature``), SendGrid events signed with ECDSA P-256."""

from __future__ import annotations

import base64
import json
import queue
import threading
import time
from typing import Any
from urllib.parse import urlencode

import httpx
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from twilio.request_validator import RequestValidator

from arrears.fakeprovider.state import FakeState, new_sid
from arrears.providers.sendgrid_email import SG_SIGNATURE, SG_TIMESTAMP
from arrears.providers.twilio_sms import TWILIO_STOP_KEYWORDS


def sign_sendgrid(key: ec.EllipticCurvePrivateKey, payload: str, timestamp: str) -> str:
    return base64.b64encode(key.sign((timestamp + payload).encode(), ec.ECDSA(hashes.SHA256()))).decode()


class Callbacks:
    def __init__(self, state: FakeState, key: ec.EllipticCurvePrivateKey | None = None) -> None:
        self.state = state
        self.key = key or ec.generate_private_key(ec.SECP256R1())
        self._queue: queue.Queue[tuple[str, dict[str, str], str] | None] = queue.Queue()
        self._client = httpx.Client(timeout=10.0, trust_env=False)
        self._thread = threading.Thread(target=self._run, name="fake-provider-callbacks", daemon=True)
        self._thread.start()
        self.delivered = 0
        self.errors = 0

    @property
    def public_key(self) -> str:
        """The verification key as SendGrid shows it (base64 DER, no PEM armour)."""
        der = self.key.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        return base64.b64encode(der).decode()

    def twilio_status(self, msg: dict[str, Any], statuses: list[str]) -> None:
        for status in statuses:
            params = {
                "AccountSid": self.state.account_sid,
                "MessageSid": msg["sid"],
                "SmsSid": msg["sid"],
                "MessageStatus": status,
                "SmsStatus": status,
                "To": msg["to"],
                "From": msg["from"],
                "ApiVersion": "2010-04-01",
            }
            self._post_twilio(msg["status_callback"], params)

    def twilio_inbound(self, sender: str, to: str, body: str) -> int:
        """Post an inbound SMS (e.g. a STOP reply) synchronously; returns the webhook's status."""
        params = {
            "AccountSid": self.state.account_sid,
            "MessageSid": new_sid("SM"),
            "From": sender,
            "To": to,
            "Body": body,
        }
        if body.strip().upper() in TWILIO_STOP_KEYWORDS:
            params["OptOutType"] = "STOP"
        url = f"{self.state.webhook_base}/twilio/inbound"
        signature = RequestValidator(self.state.auth_token).compute_signature(url, params)
        response = self._client.post(url, data=params, headers={"X-Twilio-Signature": signature})
        return response.status_code

    def sendgrid_events(self, emails: list[dict[str, Any]], events: list[str]) -> None:
        batch = []
        for e in emails:
            for event in events:
                batch.append(
                    {
                        "email": e["to"],
                        "timestamp": int(time.time()),
                        "event": event,
                        "sg_event_id": new_sid("")[:22],
                        "sg_message_id": e["msg_id"],
                        "category": e["categories"],
                        **e["custom_args"],
                    }
                )
        payload = json.dumps(batch)
        self._queue.put((f"{self.state.webhook_base}/sendgrid/events", {}, payload))

    def post(self, url: str, body: str, content_type: str) -> None:
        """An unsigned push (Alibaba Cloud's reports, a mail server's DSN): the URL carries its token."""
        self._queue.put((url, {"Content-Type": content_type}, body))

    def _post_twilio(self, url: str, params: dict[str, str]) -> None:
        signature = RequestValidator(self.state.auth_token).compute_signature(url, params)
        self._queue.put((url, {"X-Twilio-Signature": signature}, urlencode(params)))

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            url, headers, body = item
            try:
                if "X-Twilio-Signature" in headers:
                    headers = {**headers, "Content-Type": "application/x-www-form-urlencoded"}
                elif "Content-Type" in headers:
                    pass  # posted as given
                else:
                    ts = str(int(time.time()))
                    headers = {
                        "Content-Type": "application/json",
                        SG_SIGNATURE: sign_sendgrid(self.key, body, ts),
                        SG_TIMESTAMP: ts,
                    }
                self._client.post(url, content=body.encode(), headers=headers)
                self.delivered += 1
            except httpx.HTTPError:
                self.errors += 1  # the webhook app is down: real providers retry; the fake drops it
            finally:
                self._queue.task_done()

    def drain(self, timeout_s: float = 10.0) -> None:
        """Wait until every queued callback has been posted."""
        deadline = time.monotonic() + timeout_s
        while self._queue.unfinished_tasks and time.monotonic() < deadline:
            time.sleep(0.02)

    def close(self) -> None:
        self._queue.put(None)
        self._thread.join(timeout=5)
        self._client.close()
