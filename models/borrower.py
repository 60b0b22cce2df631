"""Borrowers (借款人) and their third-party contacts."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel

from models.types import AwareDateTime, utcnow


class BorrowerBase(SQLModel):
    name: str = Field(max_length=200)
    id_number: str = Field(max_length=64)  # 身份证号; never printed unmasked
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
