"""Email through the official SendGrid SDK (``SendGridAPIClient``, v3 mail send).

Each message carries its idempotency key in ``custom_args`` (``arrears_key``), so a
lost response can be settled by asking the Email Activity API for that key, and the
Event Webhook tells us which message an event is about. A batch of messages that share
one body shape goes out as one request with a personalization per recipient.
"""

from __future__ import annotations

import base64
import json
import urllib.error
from dataclasses import dataclass
from typing import Any

from python_http_client.exceptions import HTTPError
from sendgrid import SendGridAPIClient

from arrears.messaging.batching import Shared
from arrears.providers.http import retry_after_s
from arrears.providers.outcomes import (
    Accepted,
    Envelope,
    ErrorKind,
    LookupFailed,
    Outcome,
    PerThread,
    Rejected,
    Retryable,
    Unknown,
)

KEY_ARG = "arrears_key"
# Headers of a signed Event Webhook request.
SG_SIGNATURE = "X-Twilio-Email-Event-Webhook-Signature"
SG_TIMESTAMP = "X-Twilio-Email-Event-Webhook-Timestamp"


@dataclass(frozen=True)
class SendGridCredentials:
    api_key: str
    host: str = "https://api.sendgrid.com"
    timeout_s: float = 10.0

    def client(self) -> SendGridAPIClient:
        sg = SendGridAPIClient(api_key=self.api_key, host=self.host)
        sg.client.timeout = self.timeout_s  # the SDK has no default timeout
        return sg


class SendGridEmail:
    name = "sendgrid"
    channel = "email"
    region = "US"  # SendGrid (Twilio) processes mail in the United States
    max_batch = 1000  # personalizations per v3 mail send request
    shared_content = True

    def __init__(self, credentials: SendGridCredentials, sender: str, sender_name: str = "") -> None:
        self.credentials = credentials
        self.sender = sender
        self.sender_name = sender_name
        self._clients = PerThread(credentials.client)

    def _client(self) -> SendGridAPIClient:
        return self._clients.get()

    def prepare(self) -> None:
        self._client()

    def classify(self, code: str) -> ErrorKind:
        """HTTP 429 and 5xx are retried; any other 4xx (a bad address, a bad request) is permanent.
        Opt-outs (unsubscribe, spam report, hard bounce) arrive as events, not send errors."""
        return "retryable" if code == "429" or code.startswith("5") else "permanent"

    def request_body(self, batch: list[Envelope], shared: Shared | None = None) -> dict[str, Any]:
        """One message as-is, or a batch with substitution tags (``shared``)."""
        first = batch[0]
        sender: dict[str, str] = {"email": self.sender}
        if self.sender_name:
            sender["name"] = self.sender_name
        if shared is None:
            assert len(batch) == 1
            subject, text, html = first.subject, first.text, first.html
            personalizations = [{"to": [{"email": first.recipient}], "custom_args": {KEY_ARG: first.key}}]
        else:
            subject, text, html = shared.subject, shared.text, shared.html
            personalizations = [
                {"to": [{"email": env.recipient}], "custom_args": {KEY_ARG: env.key}, "substitutions": subs}
                for env, subs in zip(batch, shared.substitutions, strict=True)
            ]
        content = [{"type": "text/plain", "value": text}]
        if html:
            content.append({"type": "text/html", "value": html})
        body: dict[str, Any] = {
            "personalizations": personalizations,
            "from": sender,
            "subject": subject,
            "content": content,
            "categories": ["arrears", first.template, first.locale],
        }
        if first.attachments:  # only ever on a message sent alone (attachments are per request)
            assert shared is None
            body["attachments"] = [
                {
                    "content": base64.b64encode(a.content).decode("ascii"),
                    "filename": a.filename,
                    "type": a.mime_type,
                    "disposition": "attachment",
                }
                for a in first.attachments
            ]
        return body

    def send(self, batch: list[Envelope], shared: Shared | None = None) -> Outcome:
        try:
            response = self._client().client.mail.send.post(request_body=self.request_body(batch, shared))
        except HTTPError as err:
            status = int(err.status_code)
            reason = _error_text(err.body)
            if status == 429:
                return Retryable("429", reason, retry_after_s(dict(err.headers or {})), definite=True, throttled=True)
            if status >= 500:
                return Retryable(str(status), reason)
            return Rejected(str(status), reason)
        except (TimeoutError, urllib.error.URLError, ConnectionError) as err:
            return Unknown(type(err).__name__)
        headers = {k.lower(): v for k, v in dict(response.headers).items()}
        return Accepted(headers.get("x-message-id", ""))

    def lookup(self, envelope: Envelope, since_epoch_s: float) -> str | None:
        """Ask the Email Activity API for a message carrying this key."""
        query = f"unique_args['{KEY_ARG}']=\"{envelope.key}\""
        try:
            response = self._client().client.messages.get(query_params={"query": query, "limit": 10})
        except (HTTPError, TimeoutError, urllib.error.URLError, ConnectionError) as err:
            raise LookupFailed(f"sendgrid lookup failed: {type(err).__name__}") from None
        found = json.loads(response.body or b"{}").get("messages", [])
        return str(found[0]["msg_id"]) if found else None


def _error_text(body: bytes | str | None) -> str:
    try:
        errors = json.loads(body or b"{}").get("errors", [])
        return "; ".join(str(e.get("message", "")) for e in errors)[:300] or "error"
    except (ValueError, AttributeError):
        return str(body)[:300]
