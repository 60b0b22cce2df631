"""The lender as borrowers see it: the sender of reminders, the letterhead of letters (from settings)."""

from __future__ import annotations

from dataclasses import dataclass

from arrears.settings import Settings


@dataclass(frozen=True, slots=True)
class Lender:
    """Who the borrower hears from and how to reach them."""

    name_en: str
    name_zh: str
    hotline: str
    email: str
    pay_url: str

    def name(self, locale: str) -> str:
        return self.name_zh if locale == "zh_CN" else self.name_en


@dataclass(frozen=True, slots=True)
class Letterhead(Lender):
    """The lender as a letter presents it: the reminders' sender details, plus the postal
    address and the bank account for transfers."""

    address_zh: str
    address_en: str
    bank_name_zh: str
    bank_name_en: str
    bank_account: str


def lender_from(s: Settings) -> Lender:
    return Lender(s.lender_name_en, s.lender_name_zh, s.lender_hotline, s.lender_email, s.lender_pay_url)


def letterhead_from(s: Settings) -> Letterhead:
    return Letterhead(
        s.lender_name_en, s.lender_name_zh, s.lender_hotline, s.lender_email, s.lender_pay_url,
        s.lender_address_zh, s.lender_address_en, s.lender_bank_name_zh, s.lender_bank_name_en, s.lender_bank_account,
    )  # fmt: skip
