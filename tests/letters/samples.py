"""Letter facts for tests: realistic values, one knob per test."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal
from typing import Any

from arrears.letters.facts import LetterFacts, letter_deadline, reference_for
from arrears.templating.lender import Letterhead

LETTER_DATE = date(2026, 11, 23)
LENDER = Letterhead(
    name_zh="安信小贷",
    name_en="Anxin Lending",
    address_zh="上海市浦东新区世纪大道100号安信大厦18层",
    address_en="18/F Anxin Tower, 100 Century Avenue, Shanghai",
    hotline="400-800-1234",
    email="collections@anxin.example",
    pay_url="https://pay.anxin.example",
    bank_name_zh="中国工商银行上海浦东支行",
    bank_name_en="ICBC Shanghai Pudong Branch",
    bank_account="1001 2345 6789 0123 456",
)


def letter(n: int = 1, *, locale: str = "zh_CN", template: str = "m2_demand_letter", **changes: Any) -> LetterFacts:
    key = f"loan:LN{n:08d}:{template}:letter:{LETTER_DATE.isoformat()}"
    f = LetterFacts(
        key=key,
        reference=reference_for(key, template, LETTER_DATE),
        template=template,
        locale=locale,
        letter_date=LETTER_DATE,
        deadline=letter_deadline(LETTER_DATE, 15),
        dispute_by=letter_deadline(LETTER_DATE, 15),
        borrower_id=f"B{n:06d}",
        borrower_name="王建国" if locale == "zh_CN" else "Jennifer Williams",
        address="北京市朝阳区建国路88号院3号楼2单元1201室" if locale == "zh_CN" else "3598 Main Street, Springfield",
        loan_id=n,
        loan_no=f"LN{n:08d}",
        contract_date=date(2025, 3, 15),
        product="default",
        currency="CNY",
        principal_amount=Decimal("36000.00"),
        penalty_rate_daily=Decimal("0.0005"),
        dpd=42,
        overdue_principal=Decimal("6123.45"),
        overdue_interest=Decimal("812.07"),
        overdue_penalty=Decimal("96.33"),
        overdue_fees=Decimal("100.00"),
        overdue_total=Decimal("7131.85"),
        clause="《借款合同》第八条（逾期还款）"
        if locale == "zh_CN"
        else "Article 8 (Late Payment) of the Loan Agreement",
    )
    return replace(f, **changes)
