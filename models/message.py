"""The outbox: every SMS and email Arrears sends, its delivery events, and who must not be contacted."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from models.types import AwareDateTime, utcnow

# States of an outbox message. queued -> sending -> sent -> delivered | failed | undelivered;
# or suppressed (never sent, with a reason), expired (too old to send), review (a crash left it
# in `sending` and the provider could not say whether it went out: a person decides).
QUEUED = "queued"
SENDING = "sending"
SENT = "sent"
DELIVERED = "delivered"
FAILED = "failed"
UNDELIVERED = "undelivered"
SUPPRESSED = "suppressed"
EXPIRED = "expired"
REVIEW = "review"
FINAL = frozenset({DELIVERED, FAILED, UNDELIVERED, SUPPRESSED, EXPIRED})


# One outbound SMS or email; `key` is the planned action's idempotency key (unique).
class OutboxMessage(SQLModel, table=True):
    __tablename__ = "outbox_message"
    __table_args__ = (
        Index("ix_outbox_status_channel", "status", "channel"),
        Index("ix_outbox_as_of_channel", "as_of", "channel"),
        Index("ix_outbox_provider_id", "provider_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(unique=True, max_length=200)
    as_of: date
    channel: str = Field(max_length=8)  # sms | email
    borrower_id: str = Field(foreign_key="borrower.borrower_id", index=True, max_length=64)
    loan_id: int = Field(foreign_key="loan.id")
    template: str = Field(max_length=64)
    locale: str = Field(max_length=8)
    recipient: str = Field(max_length=254)  # E.164 phone or email address; masked everywhere it is shown
    subject: str | None = Field(default=None, max_length=300)
    body_text: str = Field(sa_type=Text)
    body_html: str | None = Field(default=None, sa_type=Text)
    segments: int | None = None  # SMS only
    merge_fields: str | None = Field(default=None, sa_type=Text)  # JSON: formatted values, for batched email
    letter_key: str | None = Field(default=None, max_length=200)  # email only: the letter it carries as a PDF
    contact_id: int | None = Field(default=None, foreign_key="contact.id")  # a third party, not the borrower
    not_before: datetime | None = Field(default=None, sa_type=AwareDateTime)  # deferred by the guard until then
    status: str = Field(default=QUEUED, max_length=12)
    reason: str | None = Field(default=None, max_length=300)  # why suppressed / failed / held
    provider: str | None = Field(default=None, max_length=16)  # twilio | sendgrid | aliyun | smtp | dry-run
    provider_id: str | None = Field(default=None, max_length=100)
    error_code: str | None = Field(default=None, max_length=64)  # 21610, isv.BUSINESS_LIMIT_CONTROL, 5.1.1
    attempts: int = 0
    lease_id: int | None = None  # the run that claimed it for its current attempt (see models.run.RunLease)
    arm: str | None = Field(default=None, max_length=32)  # the experiment arm of its action
    queued_at: datetime = Field(default_factory=utcnow, sa_type=AwareDateTime)
    sending_at: datetime | None = Field(default=None, sa_type=AwareDateTime)
    sent_at: datetime | None = Field(default=None, sa_type=AwareDateTime)
    delivered_at: datetime | None = Field(default=None, sa_type=AwareDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=AwareDateTime)


# A delivery receipt or event from a provider; `dedupe` makes a replayed webhook a no-op.
class MessageEvent(SQLModel, table=True):
    __tablename__ = "message_event"

    id: int | None = Field(default=None, primary_key=True)
    dedupe: str = Field(unique=True, max_length=300)
    message_id: int | None = Field(default=None, foreign_key="outbox_message.id", index=True)
    provider: str = Field(max_length=16)
    provider_id: str | None = Field(default=None, max_length=100, index=True)
    event: str = Field(max_length=32)
    status: str | None = Field(default=None, max_length=12)  # what it moves its message to (applied late if early)
    detail: str | None = Field(default=None, max_length=300)
    occurred_at: datetime = Field(sa_type=AwareDateTime)
    received_at: datetime = Field(default_factory=utcnow, sa_type=AwareDateTime)


# An address that must not be contacted on a channel again (STOP, unsubscribe, spam report, hard bounce).
class Suppression(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("channel", "address", name="uq_suppression_channel_address"),)

    id: int | None = Field(default=None, primary_key=True)
    channel: str = Field(max_length=8)
    address: str = Field(max_length=254)  # E.164 phone or lower-cased email
    reason: str = Field(max_length=64)
    source: str = Field(max_length=64)
    created_at: datetime = Field(default_factory=utcnow, sa_type=AwareDateTime)
