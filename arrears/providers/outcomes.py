"""The provider interface, one per channel, and what a provider call can tell us.

A provider (``Provider``) sends one message or a batch where it can (``max_batch``), looks a
message up by our key when an answer was lost, and classifies its own error codes as retryable,
permanent or opt-out (``classify``); its delivery reports are parsed and verified by the webhook
app (``arrears.webhooks``) through the same module. Each says where it processes personal data
(``region``), so a lender can keep data in the country (``ARREARS_DATA_REGION``)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, Literal, Protocol, TypeVar

C = TypeVar("C")


class PerThread(Generic[C]):
    """One SDK client per sender thread, built on first use (the SDKs' HTTP sessions are not
    shared between threads)."""

    def __init__(self, build: Callable[[], C]) -> None:
        self._build = build
        self._local = threading.local()

    def get(self) -> C:
        client: C | None = getattr(self._local, "client", None)
        if client is None:
            client = self._local.client = self._build()
        return client


@dataclass(frozen=True, slots=True)
class Accepted:
    provider_id: str
    ids: tuple[str, ...] = ()  # a batch whose messages each have an id of their own, in the batch's order

    def id_of(self, i: int) -> str:
        return self.ids[i] if self.ids else self.provider_id


@dataclass(frozen=True, slots=True)
class Rejected:
    """A permanent refusal (bad number, unsubscribed recipient, bad address): never retried."""

    code: str
    reason: str

    @property
    def opted_out(self) -> bool:
        return self.code in OPT_OUT_CODES


@dataclass(frozen=True, slots=True)
class Retryable:
    """Try again later. ``definite`` means the provider certainly did not take the message
    (HTTP 429, a refused connection); otherwise (5xx) it might have, so we ask before sending
    again. ``throttled``: the provider is pacing us (a 429), which is no outage: the circuit
    breaker does not count it."""

    code: str
    reason: str
    retry_after_s: float | None = None
    definite: bool = False
    throttled: bool = False


@dataclass(frozen=True, slots=True)
class Unknown:
    """No answer (timeout, dropped connection): the message may or may not have gone out."""

    reason: str


Outcome = Accepted | Rejected | Retryable | Unknown

# Codes that mean the recipient opted out of this sender: Twilio 21610 (replied STOP).
OPT_OUT_CODES = frozenset({"21610"})

ErrorKind = Literal["retryable", "permanent", "opt_out"]


class LookupFailed(RuntimeError):
    """The provider could not say whether a message went out."""


@dataclass(frozen=True, slots=True)
class Attachment:
    filename: str
    content: bytes
    mime_type: str = "application/pdf"


@dataclass(frozen=True, slots=True)
class Envelope:
    """One message as a provider needs it."""

    key: str
    recipient: str
    text: str
    subject: str | None = None
    html: str | None = None
    template: str = ""
    locale: str = ""
    attachments: tuple[Attachment, ...] = ()
    fields: Mapping[str, str] = field(default_factory=dict)  # the formatted values it was rendered with


class Provider(Protocol):
    name: str  # recorded on each message it sends: twilio, sendgrid, aliyun, smtp
    channel: str  # sms | email
    region: str  # where it processes personal data (ISO country, e.g. "US", "CN")
    max_batch: int  # messages one request may carry (1: one at a time)
    shared_content: bool  # a batch shares one body with per-recipient substitutions (SendGrid)

    def classify(self, code: str) -> ErrorKind:
        """What one of this provider's error codes means for the message."""

    def prepare(self) -> None:
        """Build this thread's SDK client (and the SDK's lazy imports) before a timed call."""

    def send(self, batch: list[Envelope], shared: Any = None) -> Outcome:
        """Send one request for ``batch`` (at most ``max_batch`` messages of one template; with
        ``shared_content``, ``shared`` is their common body and substitutions)."""

    def lookup(self, envelope: Envelope, since_epoch_s: float) -> str | None:
        """The provider id of ``envelope`` if it was sent since then, None if it was not;
        raises LookupFailed when the provider cannot tell."""
