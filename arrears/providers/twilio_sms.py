"""SMS through the official Twilio SDK (``twilio.rest.Client``).

Twilio has no base-URL setting; its documented extension point is a custom
``http_client``. ``RoutedHttpClient`` sends the SDK's requests to ``api_base``
(the real API by default, the loopback fake in tests) and keeps each thread's last
response headers so a 429 can honour Retry-After.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

import requests
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

from arrears.providers.http import retry_after_s
from arrears.providers.outcomes import (
    OPT_OUT_CODES,
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

TWILIO_API = "https://api.twilio.com"
# Replies Twilio itself treats as an opt-out (its standard keywords): it blocks the sender after them.
TWILIO_STOP_KEYWORDS = frozenset({"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT"})


class RoutedHttpClient(TwilioHttpClient):
    def __init__(self, api_base: str, timeout_s: float) -> None:
        super().__init__(pool_connections=True, timeout=timeout_s)
        self.api_base = api_base.rstrip("/")
        self._local = threading.local()

    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> Any:
        if url.startswith(TWILIO_API) and self.api_base != TWILIO_API:
            url = self.api_base + url[len(TWILIO_API) :]
        self._local.headers = None
        response = super().request(method, url, *args, **kwargs)
        self._local.headers = dict(response.headers or {})
        return response

    @property
    def last_headers(self) -> dict[str, str] | None:
        return getattr(self._local, "headers", None)


@dataclass(frozen=True)
class TwilioCredentials:
    account_sid: str
    auth_token: str
    api_base: str = TWILIO_API
    timeout_s: float = 10.0

    def client(self) -> Client:
        http = RoutedHttpClient(self.api_base, self.timeout_s)
        return Client(self.account_sid, self.auth_token, http_client=http)


class TwilioSms:
    """One SMS per request. ``sender`` is a phone number or a Messaging Service SID (MG...)."""

    name = "twilio"
    channel = "sms"
    region = "US"  # Twilio processes and stores messages in the United States
    max_batch = 1
    shared_content = False

    def __init__(self, credentials: TwilioCredentials, sender: str, status_callback_base: str) -> None:
        self.credentials = credentials
        self.sender = sender
        self.status_callback_base = status_callback_base.rstrip("/")
        self._clients = PerThread(credentials.client)

    def _client(self) -> Client:
        return self._clients.get()

    def prepare(self) -> None:
        self._client().api.v2010.account.messages  # noqa: B018 - loads the SDK's resource modules

    def classify(self, code: str) -> ErrorKind:
        """429/20429 (too many requests) and 5xx/20500 are retried; 21610 (the recipient sent
        STOP) is an opt-out; every other 4xx code (21211 invalid number, ...) is permanent."""
        if code in OPT_OUT_CODES:
            return "opt_out"
        if code in ("429", "20429") or code.startswith("5") and len(code) in (3, 5):
            return "retryable"
        return "permanent"

    def status_callback(self, key: str) -> str:
        return f"{self.status_callback_base}/twilio/status?key={quote(key, safe='')}"

    def send(self, batch: list[Envelope], shared: object = None) -> Outcome:
        (env,) = batch
        client = self._client()
        route = {"messaging_service_sid": self.sender} if self.sender.startswith("MG") else {"from_": self.sender}
        try:
            msg = client.messages.create(
                to=env.recipient, body=env.text, status_callback=self.status_callback(env.key), **route
            )
        except TwilioRestException as err:
            code = str(err.code or err.status)
            if err.status == 429:
                headers = client.http_client.last_headers  # type: ignore[attr-defined]
                return Retryable(code, str(err.msg), retry_after_s(headers), definite=True, throttled=True)
            if err.status >= 500:
                return Retryable(code, str(err.msg))
            return Rejected(code, str(err.msg))
        except (requests.Timeout, requests.ConnectionError) as err:
            return Unknown(type(err).__name__)
        return Accepted(str(msg.sid))

    def lookup(self, envelope: Envelope, since_epoch_s: float) -> str | None:
        """Find the message by recipient and send window (Twilio keeps no key of ours):
        the same body to the same number since the window opened is ours."""
        since = datetime.fromtimestamp(since_epoch_s, UTC) - timedelta(minutes=5)  # clock skew
        try:
            found = self._client().messages.list(to=envelope.recipient, date_sent_after=since, limit=200)
        except (TwilioException, requests.RequestException) as err:
            raise LookupFailed(f"twilio lookup failed: {err}") from None
        for msg in found:
            if msg.body == envelope.text and (msg.date_created is None or msg.date_created >= since):
                return str(msg.sid)
        return None
