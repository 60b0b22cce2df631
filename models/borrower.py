"""Borrowers (借款人) and their third-party contacts."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from models.types import AwareDateTime, utcnow


class BorrowerBase(SQLModel):
    name: str = Field(max_length=200)
    id_number: str = Field(max_length=64)  # 身份证号, masked (1101**********1234): the clear value is never stored
    phone: str | None = Field(default=None, max_length=20)  # E.164
    email: str | None = Field(default=None, max_length=254)
    address: str | None = Field(default=None, max_length=500)
    locale: str = Field(max_length=8)  # zh_CN | en_US
    timezone: str = Field(max_length=64)  # IANA
    sms_consent: bool = False
    email_consent: bool = False


# The stored borrower, keyed by the lender's own borrower id.
class Borrower(BorrowerBase, table=True):
    borrower_id: str = Field(primary_key=True, max_length=64)
    id_number_enc: str | None = Field(default=None, sa_type=Text)  # Fernet token (ARREARS_DATA_KEYS)
    id_number_hash: str | None = Field(default=None, index=True, max_length=64)  # HMAC-SHA256 for look-ups
    anonymised_at: datetime | None = Field(default=None, sa_type=AwareDateTime)  # retention
    updated_at: datetime = Field(default_factory=utcnow, sa_type=AwareDateTime)


# An emergency contact or other third party, only reachable with recorded consent.
class Contact(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("borrower_id", "phone", name="uq_contact_borrower_phone"),)

    id: int | None = Field(default=None, primary_key=True)
    borrower_id: str = Field(foreign_key="borrower.borrower_id", index=True, max_length=64)
    name: str = Field(max_length=200)
    relation: str = Field(max_length=64)
    phone: str = Field(max_length=20)
    consent: bool = False
