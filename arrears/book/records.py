"""Validated records of the loan book CSV files, parsed by pure functions.

Each ``parse_*`` takes one CSV row (a dict of strings) and the import's ``Limits`` and returns a
record or raises ``FieldError`` naming the column and the reason. Text fits its database column
and holds no control characters (a NUL or an escape breaks the PDFs and CSVs made from it);
amounts are written out plainly and stay under the business ceiling; counts stay in range.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel.numbers import is_currency

from arrears.money import MAX_AMOUNT, parse_amount, parse_rate
from arrears.privacy import mask_email, mask_phone

LOCALES = ("zh_CN", "en_US")
_TRUE = {"true", "yes", "y", "1", "t", "是"}
_FALSE = {"false", "no", "n", "0", "f", "否"}
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[A-Za-z]{2,}$")
_E164 = re.compile(r"^\+[1-9]\d{7,14}$")
_CN_MOBILE = re.compile(r"^1[3-9]\d{9}$")
_KEY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-/]{0,63}$")


@dataclass(frozen=True)
class Limits:
    """What one import accepts: the largest amount (settings: ``ARREARS_MAX_AMOUNT``)."""

    max_amount: Decimal = MAX_AMOUNT


DEFAULT_LIMITS = Limits()
# Column widths of the tables the book goes into (models/): longer text is refused, not cut.
WIDTHS = {"name": 200, "address": 500, "relation": 64, "product": 64, "id_number": 64, "email": 254}


class FieldError(ValueError):
    def __init__(self, column: str | None, reason: str):
        super().__init__(reason)
        self.column = column
        self.reason = reason


@dataclass(frozen=True, slots=True)
class BorrowerRecord:
    borrower_id: str
    name: str
    id_number: str
    phone: str | None
    email: str | None
    address: str | None
    locale: str
    timezone: str
    sms_consent: bool
    email_consent: bool


@dataclass(frozen=True, slots=True)
class LoanRecord:
    loan_no: str
    borrower_id: str
    product: str
    currency: str
    principal: Decimal
    annual_rate: Decimal
    penalty_rate_daily: Decimal
    late_fee: Decimal
    grace_days: int
    contract_date: date
    secured: bool


@dataclass(frozen=True, slots=True)
class InstallmentRecord:
    loan_no: str
    seq: int
    due_date: date
    principal_due: Decimal
    interest_due: Decimal
    fee_due: Decimal


@dataclass(frozen=True, slots=True)
class PaymentRecord:
    loan_no: str
    paid_on: date
    amount: Decimal
    reference: str


@dataclass(frozen=True, slots=True)
class ContactRecord:
    borrower_id: str
    name: str
    relation: str
    phone: str
    consent: bool


def _clean(column: str, value: str) -> str:
    for ch in value:
        if unicodedata.category(ch) == "Cc":
            raise FieldError(column, f"{column} contains a control character (U+{ord(ch):04X})")
    width = WIDTHS.get(column)
    if width is not None and len(value) > width:
        raise FieldError(column, f"{column} is {len(value)} characters long, more than the {width} it may hold")
    return value


def _required(row: dict[str, str], column: str) -> str:
    value = (row.get(column) or "").strip()
    if not value:
        raise FieldError(column, f"{column} is missing")
    return _clean(column, value)


def _optional(row: dict[str, str], column: str) -> str | None:
    value = (row.get(column) or "").strip()
    return _clean(column, value) if value else None


def _key(row: dict[str, str], column: str) -> str:
    value = _required(row, column)
    if not _KEY.match(value):
        raise FieldError(column, f"{column} {value!r} is not a valid identifier (letters, digits, _ . - /; max 64)")
    return value


def _date(row: dict[str, str], column: str) -> date:
    value = _required(row, column)
    try:
        return date.fromisoformat(value) if len(value) == 10 else _bad_date(value)
    except ValueError:
        raise FieldError(column, f"{column} {value!r} is not a date (YYYY-MM-DD)") from None


def _bad_date(value: str) -> date:
    raise ValueError(value)


def _amount(
    row: dict[str, str], column: str, limits: Limits, *, positive: bool = False, default: str | None = None
) -> Decimal:
    value = (row.get(column) or "").strip() or default
    if value is None:
        raise FieldError(column, f"{column} is missing")
    try:
        amount = parse_amount(value, limits.max_amount)
    except ValueError as err:
        raise FieldError(column, f"{column}: {err}") from None
    if positive and amount == 0:
        raise FieldError(column, f"{column} must be greater than zero")
    return amount


def _rate(row: dict[str, str], column: str) -> Decimal:
    try:
        return parse_rate(_required(row, column))
    except ValueError as err:
        raise FieldError(column, f"{column}: {err}") from None


def _int(row: dict[str, str], column: str, *, minimum: int, maximum: int, default: str | None = None) -> int:
    value = (row.get(column) or "").strip() or default
    if value is None:
        raise FieldError(column, f"{column} is missing")
    if not re.fullmatch(r"-?\d{1,12}", value) or not minimum <= int(value) <= maximum:
        raise FieldError(column, f"{column} {value[:20]!r} is not a whole number from {minimum} to {maximum}")
    return int(value)


def _bool(row: dict[str, str], column: str, *, default: str | None = None) -> bool:
    value = ((row.get(column) or "").strip() or default or "").lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    if not value:
        raise FieldError(column, f"{column} is missing")
    raise FieldError(column, f"{column} {value!r} is not true/false")


def normalise_phone(text: str) -> str:
    """E.164 (+CC...) or a mainland China mobile (11 digits from 1), returned as E.164."""
    compact = re.sub(r"[\s\-()]", "", text)
    if _CN_MOBILE.match(compact):
        return "+86" + compact
    if compact.startswith("00"):
        compact = "+" + compact[2:]
    if _E164.match(compact):
        return compact
    raise ValueError(f"not a phone number (E.164 or CN mobile): {mask_phone(compact)}")


def _phone(row: dict[str, str], column: str, *, required: bool) -> str | None:
    value = _required(row, column) if required else _optional(row, column)
    if value is None:
        return None
    try:
        return normalise_phone(value)
    except ValueError as err:
        raise FieldError(column, f"{column}: {err}") from None


def parse_borrower(row: dict[str, str], limits: Limits = DEFAULT_LIMITS) -> BorrowerRecord:
    email = _optional(row, "email")
    if email is not None and not _EMAIL.match(email):
        raise FieldError("email", f"email: not an email address: {mask_email(email)}")
    locale = _required(row, "locale")
    if locale not in LOCALES:
        raise FieldError("locale", f"locale {locale!r} is not one of {', '.join(LOCALES)}")
    tz = _required(row, "timezone")
    try:
        ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        raise FieldError("timezone", f"timezone {tz!r} is not a known IANA zone") from None
    return BorrowerRecord(
        borrower_id=_key(row, "borrower_id"),
        name=_required(row, "name"),
        id_number=_required(row, "id_number"),
        phone=_phone(row, "phone", required=False),
        email=email,
        address=_optional(row, "address"),
        locale=locale,
        timezone=tz,
        sms_consent=_bool(row, "sms_consent"),
        email_consent=_bool(row, "email_consent"),
    )


def parse_loan(row: dict[str, str], limits: Limits = DEFAULT_LIMITS) -> LoanRecord:
    currency = _required(row, "currency").upper()
    if not is_currency(currency):
        raise FieldError("currency", f"currency {currency!r} is not an ISO 4217 code")
    return LoanRecord(
        loan_no=_key(row, "loan_no"),
        borrower_id=_key(row, "borrower_id"),
        product=_required(row, "product"),
        currency=currency,
        principal=_amount(row, "principal", limits, positive=True),
        annual_rate=_rate(row, "annual_rate"),
        penalty_rate_daily=_rate(row, "penalty_rate_daily"),
        late_fee=_amount(row, "late_fee", limits, default="0"),
        grace_days=_int(row, "grace_days", minimum=0, maximum=3650, default="0"),
        contract_date=_date(row, "contract_date"),
        secured=_bool(row, "secured", default="false"),
    )


def parse_installment(row: dict[str, str], limits: Limits = DEFAULT_LIMITS) -> InstallmentRecord:
    return InstallmentRecord(
        loan_no=_key(row, "loan_no"),
        seq=_int(row, "seq", minimum=1, maximum=10_000),
        due_date=_date(row, "due_date"),
        principal_due=_amount(row, "principal_due", limits),
        interest_due=_amount(row, "interest_due", limits),
        fee_due=_amount(row, "fee_due", limits, default="0"),
    )


def parse_payment(row: dict[str, str], limits: Limits = DEFAULT_LIMITS) -> PaymentRecord:
    return PaymentRecord(
        loan_no=_key(row, "loan_no"),
        paid_on=_date(row, "paid_on"),
        amount=_amount(row, "amount", limits, positive=True),
        reference=_key(row, "reference"),
    )


def parse_contact(row: dict[str, str], limits: Limits = DEFAULT_LIMITS) -> ContactRecord:
    return ContactRecord(
        borrower_id=_key(row, "borrower_id"),
        name=_required(row, "name"),
        relation=_required(row, "relation"),
        phone=_phone(row, "phone", required=True),  # type: ignore[arg-type]
        consent=_bool(row, "consent"),
    )
