"""A realistic synthetic loan book, written as the CSV files `arrears import` reads.

Chinese and English borrowers; 12 monthly installments (equal-payment
amortisation, Decimal, rounded to cents with the last installment taking the
remainder); a mix of good payers, late payers, partial payers and defaulters
whose missed payments start at different times, so that on ``as_of`` every
stage from pre-due to M3+ occurs. Deterministic for a given seed.
"""

from __future__ import annotations

import csv
import random
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

from arrears.money import round_money

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂"
FIRST_EN = ["James", "Mary", "Robert", "Patricia", "John", "Jennifer", "Michael", "Linda", "David", "Susan"]
LAST_EN = ["Smith", "Johnson", "Williams", "Brown", "Jones", "Miller", "Davis", "Wilson", "Moore", "Taylor"]
CN_CITIES = [
    "北京市朝阳区建国路",
    "上海市浦东新区世纪大道",
    "广州市天河区天河路",
    "深圳市南山区科技园路",
    "杭州市西湖区文三路",
]
US_ZONES = ["America/New_York", "America/Chicago", "America/Los_Angeles"]
BEHAVIOURS = (("good", 0.55), ("late", 0.20), ("partial", 0.10), ("defaulter", 0.15))


@dataclass(frozen=True)
class BookStats:
    borrowers: int
    loans: int
    installments: int
    payments: int
    bad_rows: int


def add_months(d: date, months: int) -> date:
    y, m = divmod(d.month - 1 + months, 12)
    year, month = d.year + y, m + 1
    for day in (d.day, 30, 29, 28):
        try:
            return date(year, month, day)
        except ValueError:
            continue
    raise AssertionError("unreachable")


def amortise(principal: Decimal, annual_rate: Decimal, months: int) -> list[tuple[Decimal, Decimal]]:
    """(principal, interest) per month for an equal-payment loan; sums to ``principal`` exactly."""
    r = annual_rate / 12
    payment = principal * r / (1 - (1 + r) ** -months) if r else principal / months
    rows, balance = [], principal
    for k in range(months):
        interest = round_money(balance * r)
        part = balance if k == months - 1 else round_money(payment) - interest
        rows.append((part, interest))
        balance -= part
    return rows


def _cn_id(rng: random.Random) -> str:
    body = (
        f"{rng.choice(['110101', '310115', '440106', '440305', '330106'])}19{rng.randint(60, 99)}"
        f"{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}{rng.randint(0, 999):03d}"
    )
    weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
    check = "10X98765432"[sum(int(c) * w for c, w in zip(body, weights, strict=True)) % 11]
    return body + check


def _borrower(rng: random.Random, i: int) -> dict[str, str]:
    bid = f"B{i:07d}"
    if rng.random() < 0.65:
        name = rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.randint(1, 2)))
        return {
            "borrower_id": bid,
            "name": name,
            "id_number": _cn_id(rng),
            "phone": f"+861{rng.choice('3589')}{rng.randint(0, 999_999_999):09d}",
            "email": f"user{i}@example.cn",
            "address": f"{rng.choice(CN_CITIES)}{rng.randint(1, 999)}号",
            "locale": "zh_CN",
            "timezone": "Asia/Shanghai",
            "sms_consent": "true",
            "email_consent": "true" if rng.random() < 0.8 else "false",
        }
    first, last = rng.choice(FIRST_EN), rng.choice(LAST_EN)
    return {
        "borrower_id": bid,
        "name": f"{first} {last}",
        "id_number": f"9{rng.randint(0, 99_999_999):08d}",
        "phone": f"+1{rng.choice(['212', '312', '415'])}555{rng.randint(100, 199):04d}",
        "email": f"{first.lower()}.{last.lower()}{i}@example.com",
        "address": f"{rng.randint(1, 9999)} Main Street, Springfield",
        "locale": "en_US",
        "timezone": rng.choice(US_ZONES),
        "sms_consent": "true" if rng.random() < 0.9 else "false",
        "email_consent": "true",
    }


def _payments(
    rng: random.Random, behaviour: str, schedule: list[tuple[date, Decimal]], as_of: date, stop_after: date
) -> list[tuple[date, Decimal]]:
    out = []
    for due, amount in schedule:
        if behaviour == "good":
            paid_on, paid = due - timedelta(days=rng.randint(0, 5)), amount
        elif behaviour == "late":
            paid_on, paid = (
                due + timedelta(days=rng.choice([0, 1, 2, 5, 9, 15, 24])),
                round_money(amount * Decimal("1.03")),
            )
        elif behaviour == "partial":
            paid_on, paid = (
                due + timedelta(days=rng.randint(0, 4)),
                round_money(amount * Decimal(rng.choice(["0.5", "0.7", "0.9"]))),
            )
        else:  # defaulter: pays on time until it stops
            if due > stop_after:
                break
            paid_on, paid = due, amount
        if paid_on <= as_of:
            out.append((paid_on, paid))
    return out


def generate_book(directory: Path, *, loans: int, as_of: date, seed: int = 7, bad_rows: bool = True) -> BookStats:
    """Write borrowers/loans/installments/payments/contacts CSVs for ``loans`` loans."""
    rng = random.Random(seed)  # noqa: S311 - reproducible test data, not secrets
    directory.mkdir(parents=True, exist_ok=True)
    n_borrowers = max(1, int(loans * 0.85))
    borrowers = [_borrower(rng, i + 1) for i in range(n_borrowers)]
    loan_rows, inst_rows, pay_rows, contact_rows = [], [], [], []
    for k in range(loans):
        b = borrowers[k % n_borrowers] if k < n_borrowers else rng.choice(borrowers)
        cn = b["locale"] == "zh_CN"
        loan_no = f"LN{k + 1:08d}"
        contract = as_of - timedelta(days=rng.randint(20, 460))
        principal = Decimal(rng.randrange(3_000, 120_000, 500) if cn else rng.randrange(1_000, 40_000, 250))
        rate = Decimal(rng.choice(["0.0799", "0.12", "0.1499", "0.18", "0.2399"]))
        loan_rows.append(
            {
                "loan_no": loan_no,
                "borrower_id": b["borrower_id"],
                "product": "consumer",
                "currency": "CNY" if cn else "USD",
                "principal": f"{principal:.2f}",
                "annual_rate": str(rate),
                "penalty_rate_daily": "0.0005",
                "late_fee": "50.00" if cn else "25.00",
                "grace_days": "3",
                "contract_date": contract.isoformat(),
                "secured": "true" if rng.random() < 0.2 else "false",
            }
        )
        schedule = []
        for seq, (p, i) in enumerate(amortise(principal, rate, 12), start=1):
            due = add_months(contract, seq)
            inst_rows.append(
                {
                    "loan_no": loan_no,
                    "seq": seq,
                    "due_date": due.isoformat(),
                    "principal_due": f"{p:.2f}",
                    "interest_due": f"{i:.2f}",
                    "fee_due": "0.00",
                }
            )
            schedule.append((due, p + i))
        behaviour = rng.choices([b for b, _ in BEHAVIOURS], [w for _, w in BEHAVIOURS])[0]
        stop_after = as_of - timedelta(days=rng.randint(0, 400))
        for n, (paid_on, amount) in enumerate(_payments(rng, behaviour, schedule, as_of, stop_after), start=1):
            pay_rows.append(
                {
                    "loan_no": loan_no,
                    "paid_on": paid_on.isoformat(),
                    "amount": f"{amount:.2f}",
                    "reference": f"PAY-{loan_no}-{n:02d}",
                }
            )
    for b in borrowers[: max(1, n_borrowers // 10)]:
        contact_rows.append(
            {
                "borrower_id": b["borrower_id"],
                "name": "联系人" if b["locale"] == "zh_CN" else "Alex Doe",
                "relation": "spouse",
                "phone": f"+8613900{rng.randint(0, 999_999):06d}",
                "consent": "true" if rng.random() < 0.5 else "false",
            }
        )
    n_bad = 0
    if bad_rows:  # a few rows a real extract would contain, to show the quarantine
        borrowers.append({**borrowers[0], "borrower_id": "B_BADPHONE", "phone": "12345"})
        pay_rows.append(
            {"loan_no": "LN_UNKNOWN", "paid_on": as_of.isoformat(), "amount": "100.00", "reference": "PAY-ORPHAN-1"}
        )
        inst_rows.append(
            {
                "loan_no": "LN00000001",
                "seq": 99,
                "due_date": "2025-13-01",
                "principal_due": "10.00",
                "interest_due": "1.00",
                "fee_due": "0.00",
            }
        )
        n_bad = 3
    _write(directory / "borrowers.csv", borrowers)
    _write(directory / "loans.csv", loan_rows)
    _write(directory / "installments.csv", inst_rows)
    _write(directory / "payments.csv", pay_rows)
    _write(directory / "contacts.csv", contact_rows)
    return BookStats(len(borrowers), len(loan_rows), len(inst_rows), len(pay_rows), n_bad)


def _write(path: Path, rows: list[dict[str, object]]) -> None:
    with path.open("w", encoding="utf-8", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def respond(
    contacts: Iterable[tuple[str, str, Decimal]], rates: Mapping[str, float], paid_on: date, seed: int
) -> list[dict[str, str]]:
    """Borrowers answering contact, for champion/challenger tests and the demo: each contacted loan
    (loan number, its arm, what it owes) pays what it owes on ``paid_on`` with its arm's probability
    — a truth the experiment's results must find (or, with equal rates, must not invent)."""
    rng = random.Random(f"{seed}:{paid_on}")  # noqa: S311 - reproducible test data, not secrets
    rows, seen = [], set()
    for loan_no, arm, owed in sorted(contacts):
        if loan_no in seen or owed <= 0:
            continue
        seen.add(loan_no)
        if rng.random() < rates.get(arm, 0.0):
            rows.append({"loan_no": loan_no, "paid_on": paid_on.isoformat(), "amount": str(owed),
                         "reference": f"RESP-{loan_no}-{paid_on:%Y%m%d}"})  # fmt: skip
    return rows
