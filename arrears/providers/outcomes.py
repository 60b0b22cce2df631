"""What a provider call can tell us, and what each answer allows us to do next."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

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
    (HTTP 429); otherwise (5xx) it might have, so we ask before sending again."""

    code: str
    reason: str
    retry_after_s: float | None = None
    definite: bool = False


@dataclass(frozen=True, slots=True)
class Unknown:
    """No answer (timeout, dropped connection): the message may or may not have gone out."""

    reason: str


Outcome = Accepted | Rejected | Retryable | Unknown

# Twilio 21610: the recipient replied STOP to this sender. 21614: not a mobile number.
OPT_OUT_CODES = frozenset({"21610"})


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


class Provider(Protocol):
    name: str

    def prepare(self) -> None:
        """Build this thread's SDK client (and the SDK's lazy imports) before a timed call."""

    def send(self, batch: list[Envelope], shared: Any = None) -> Outcome:
        """Send one request for ``batch`` (SMS: always one message; email: ``shared`` content)."""

    def lookup(self, envelope: Envelope, since_epoch_s: float) -> str | None:
        """The provider id of ``envelope`` if it was sent since then, None if it was not;
        raises LookupFailed when the provider cannot tell."""
