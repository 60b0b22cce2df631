"""The lender as borrowers see it: the sender of reminders, the letterhead of letters (from settings)."""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from arrears.settings import Settings
from arrears.templating.paylink import pay_link

IMAGE_TYPES = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".svg": "image/svg+xml"}


def data_uri(path: Path | None) -> str | None:
    """An image file (logo, seal) inlined as a ``data:`` URI, so a document carries it wherever it
    is laid out (a letter worker, a report opened on another machine); None without one."""
    if path is None:
        return None
    return f"data:{IMAGE_TYPES[path.suffix.lower()]};base64," + base64.b64encode(path.read_bytes()).decode()


@dataclass(frozen=True, slots=True)
class Lender:
    """Who the borrower hears from and how to reach them."""

    name_en: str
    name_zh: str
    hotline: str
    email: str
    pay_url: str
    pay_key: str = field(default="", kw_only=True, repr=False)  # signs pay-now links (ARREARS_PAY_LINK_KEY)

    def name(self, locale: str) -> str:
        return self.name_zh if locale == "zh_CN" else self.name_en

    def pay_link(self, loan_no: str, amount: Decimal) -> str:
        """The pay-now link for a loan and an amount, signed (``arrears.templating.paylink``)."""
        return pay_link(self.pay_url, self.pay_key, loan_no, amount)


@dataclass(frozen=True, slots=True)
class Letterhead(Lender):
    """The lender as a letter presents it: the reminders' sender details, plus the postal
    address and the bank account for transfers."""

    address_zh: str
    address_en: str
    bank_name_zh: str
    bank_name_en: str
    bank_account: str
    logo: str | None = None  # data: URI of ARREARS_LENDER_LOGO, in the letterhead
    seal: str | None = None  # data: URI of ARREARS_LENDER_SEAL (公章 / signature), over the signature


def lender_from(s: Settings) -> Lender:
    return Lender(
        s.lender_name_en, s.lender_name_zh, s.lender_hotline, s.lender_email, s.lender_pay_url,
        pay_key=s.pay_link_key.get_secret_value(),
    )  # fmt: skip


def letterhead_from(s: Settings) -> Letterhead:
    return Letterhead(
        s.lender_name_en, s.lender_name_zh, s.lender_hotline, s.lender_email, s.lender_pay_url,
        s.lender_address_zh, s.lender_address_en, s.lender_bank_name_zh, s.lender_bank_name_en, s.lender_bank_account,
        data_uri(s.lender_logo), data_uri(s.lender_seal), pay_key=s.pay_link_key.get_secret_value(),
    )  # fmt: skip
