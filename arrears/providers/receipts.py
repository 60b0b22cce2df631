"""What a provider tells us after a send, in one shape for every provider: a delivery report, a
bounce, an opt-out, a reply. Each provider module parses its own reports into ``Receipt``s (the
webhook app verifies the request first); ``arrears.store.events.apply_receipt`` records them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class Receipt:
    provider: str
    channel: str  # sms | email
    event: str  # the provider's own word: delivered, failed, bounce, DELIVERED, TD...
    dedupe: str  # the same report twice is recorded once
    occurred_at: datetime
    key: str | None = None  # our message key, when the report carries it
    provider_id: str | None = None
    new_status: str | None = None  # the outbox status it moves the message to (never backwards)
    detail: str | None = None
    error_code: str | None = None
    opt_out: str | None = None  # the address that opted out (STOP, unsubscribe, hard bounce) ...
    opt_out_reason: str = ""  # ... and why
    reply_from: str | None = None  # a reply from this phone: a conversation (the guard pauses contact)
