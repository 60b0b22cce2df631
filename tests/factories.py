"""Small builders for tests: plain data, read like the rules."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

from arrears.engine import Installment, LoanBook, LoanTerms, Payment


def D(text: str | int) -> Decimal:
    return Decimal(str(text))


def terms(
    rate: str = "0.0005",
    late_fee: str = "0",
    grace_days: int = 0,
    waterfall: tuple[str, ...] = ("fees", "penalty", "interest", "principal"),
) -> LoanTerms:
    return LoanTerms(penalty_rate_daily=D(rate), late_fee=D(late_fee), grace_days=grace_days, waterfall=waterfall)


def inst(due: str, principal: str = "1000", interest: str = "50", fee: str = "0", seq: int = 1) -> Installment:
    return Installment(date.fromisoformat(due), seq, D(principal), D(interest), D(fee))


def pay(on: str, amount: str) -> Payment:
    return Payment(date.fromisoformat(on), D(amount))


def day(text: str) -> date:
    return date.fromisoformat(text)


def loan_book(
    installments: list[Installment],
    payments: list[Payment] = (),
    *,  # type: ignore[assignment]
    loan_id: int = 1,
    loan_no: str = "LN1",
    borrower_id: str = "B1",
    rate: str = "0.0005",
    late_fee: str = "0",
    grace_days: int = 0,
    secured: bool = False,
) -> LoanBook:
    return LoanBook(
        loan_id,
        loan_no,
        borrower_id,
        "consumer",
        D(rate),
        D(late_fee),
        grace_days,
        secured,
        tuple(installments),
        tuple(payments),
    )


BORROWER_HEADER = "borrower_id,name,id_number,phone,email,address,locale,timezone,sms_consent,email_consent"
LOAN_HEADER = (
    "loan_no,borrower_id,product,currency,principal,annual_rate,penalty_rate_daily,late_fee,grace_days,contract_date"
)
INSTALLMENT_HEADER = "loan_no,seq,due_date,principal_due,interest_due,fee_due"
PAYMENT_HEADER = "loan_no,paid_on,amount,reference"


def write_book(directory, *, borrowers=(), loans=(), installments=(), payments=(), contacts=None):  # type: ignore[no-untyped-def]
    """Write a book folder from lists of CSV lines (without header)."""
    directory.mkdir(parents=True, exist_ok=True)
    files = {
        "borrowers.csv": (BORROWER_HEADER, borrowers),
        "loans.csv": (LOAN_HEADER, loans),
        "installments.csv": (INSTALLMENT_HEADER, installments),
        "payments.csv": (PAYMENT_HEADER, payments),
    }
    if contacts is not None:
        files["contacts.csv"] = ("borrower_id,name,relation,phone,consent", contacts)
    for name, (header, lines) in files.items():
        (directory / name).write_text("\n".join([header, *lines]) + "\n", encoding="utf-8")
    return directory


GOOD_BORROWER = "B1,张伟,110101199003071234,13812345678,zhang.wei@example.cn,北京市朝阳区,zh_CN,Asia/Shanghai,true,true"
GOOD_LOAN = "LN1,B1,consumer,CNY,12000.00,0.18,0.0005,50.00,3,2026-01-05"
GOOD_INSTALLMENTS = [f"LN1,{k},2026-{k + 1:02d}-05,1000.00,180.00,0.00" for k in range(1, 4)]
GOOD_PAYMENT = "LN1,2026-02-05,1180.00,PAY-1"


def seed_outbox(engine, *messages, body="text", sending_at=None, template="m1_gentle", locale="zh_CN", fields=None):  # type: ignore[no-untyped-def]
    """One borrower, one loan and outbox rows given as (key, channel, recipient, status, provider_id);
    ``fields``: the merge fields they were rendered with (a registered SMS template needs them)."""
    import json
    from datetime import UTC, datetime

    from sqlalchemy import text

    from arrears.store.outbox import insert_messages

    now = datetime.now(UTC)
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO borrower (borrower_id, name, id_number, locale, timezone, sms_consent, email_consent,"
                " updated_at) VALUES ('B1', '张伟', '110101199003071234', 'zh_CN', 'Asia/Shanghai', true, true, :t)"
            ),
            {"t": now},
        )
        conn.execute(
            text(
                "INSERT INTO loan (id, loan_no, borrower_id, product, currency, principal, annual_rate,"
                " penalty_rate_daily, late_fee, grace_days, contract_date, secured)"
                " VALUES (1, 'LN1', 'B1', 'consumer', 'CNY', 0, '0', '0', 0, 0, '2026-01-01', false)"
            )
        )
        insert_messages(
            conn,
            [
                {
                    "key": key,
                    "as_of": date(2026, 11, 23),
                    "channel": channel,
                    "borrower_id": "B1",
                    "loan_id": 1,
                    "template": template,
                    "locale": locale,
                    "recipient": recipient,
                    "body_text": body,
                    "merge_fields": json.dumps(fields, ensure_ascii=False) if fields else None,
                    "sending_at": sending_at,
                    "status": status,
                    "provider_id": provider_id,
                    "attempts": 1,
                    "queued_at": now,
                    "updated_at": now,
                }
                for key, channel, recipient, status, provider_id in messages
            ],
        )


def policy_file(tmp: Path, **guard: object) -> Path:
    """The shipped policy with ``guard`` keys replaced (e.g. ``holidays=None`` for a story whose
    days fall on Chinese public holidays: the calendar has its own tests)."""
    import yaml

    from arrears.policy import DEFAULT_POLICY_PATH

    data = yaml.safe_load(DEFAULT_POLICY_PATH.read_text(encoding="utf-8"))
    data.setdefault("guard", {}).update(guard)
    path = tmp / "policy.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def policy_with(tmp: Path, **sections: object) -> Path:
    """The shipped policy with whole top-level sections replaced or added (e.g. ``experiments=[...]``)."""
    import yaml

    from arrears.policy import DEFAULT_POLICY_PATH

    data = yaml.safe_load(DEFAULT_POLICY_PATH.read_text(encoding="utf-8"))
    data.update(sections)
    path = tmp / "policy.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def seal_png(path: Path, size: int = 240) -> Path:
    """A red company seal (公章) as a PNG: a ring and a star on transparency."""
    import math

    from PIL import Image, ImageDraw

    img = Image.new("RGBA", (size, size), (0, 0, 0, 0))
    draw = ImageDraw.Draw(img)
    draw.ellipse((6, 6, size - 6, size - 6), outline=(200, 20, 20, 255), width=size // 20)
    c, points = size / 2, []
    for i in range(10):
        r = size / 5 if i % 2 == 0 else size / 12
        a = math.pi / 2 + i * math.pi / 5
        points.append((c + r * math.cos(a), c - r * math.sin(a)))
    draw.polygon(points, fill=(200, 20, 20, 255))
    img.save(path)
    return path


def logo_png(path: Path) -> Path:
    """A small lender logo as a PNG."""
    from PIL import Image, ImageDraw

    img = Image.new("RGB", (300, 90), (20, 60, 140))
    ImageDraw.Draw(img).rectangle((20, 20, 80, 70), fill=(255, 255, 255))
    img.save(path)
    return path
