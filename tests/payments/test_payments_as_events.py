"""Payments as events: a signed payment between the daily runs stops what is still queued for the
loan it cures, at once; a partial one keeps the ladder with the new amount; forged, stale and
replayed calls are refused or applied once; a bank's file does the same; pay-now links are signed."""

from __future__ import annotations

import collections
import hashlib
import hmac
import json
import re
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from arrears.cli import app
from arrears.db import make_engine
from arrears.fakeprovider.server import BackgroundServer
from arrears.policy import load_policy
from arrears.settings import get_settings
from arrears.steps.importing import import_book
from arrears.steps.messages import preview_message
from arrears.steps.payments import payment_recorder
from arrears.templating.lender import lender_from
from arrears.templating.paylink import pay_link, verify_pay_link
from arrears.webhooks import create_app
from flows.daily import daily_collection
from flows.dispatch import dispatch_due
from tests.factories import day, write_book

SHANGHAI = ZoneInfo("Asia/Shanghai")
AS_OF = day("2026-11-16")  # a Monday; both loans fell due on the 14th: DPD 2, the M1 ladder's first day
EARLY = datetime(2026, 11, 16, 6, 30, tzinfo=SHANGHAI)  # before 08:00: the day's reminders wait, queued
LATER = datetime(2026, 11, 16, 9, 0, tzinfo=SHANGHAI)
KEY = "test-payment-key"


def _book(folder: Path) -> Path:
    return write_book(
        folder,
        borrowers=[
            f"B{i},借款人{i},11010119900307000{i},1381234000{i},b{i}@example.cn,上海市{i}号,zh_CN,Asia/Shanghai,true,true"
            for i in (1, 2)
        ],
        loans=[f"LN{i},B{i},consumer,CNY,3000.00,0.18,0.0005,50.00,3,2026-10-01" for i in (1, 2)],
        installments=[f"LN{i},1,2026-11-14,3000.00,100.00,0.00" for i in (1, 2)],
    )


@pytest.fixture
def day_queued(prefect_harness, providers, tmp_path, monkeypatch):  # type: ignore[no-untyped-def]
    """The day planned and its reminders queued before 08:00 (deferred by the guard); the engine."""
    monkeypatch.setenv("ARREARS_DAILY_REPORT", "false")
    get_settings.cache_clear()
    engine = make_engine(get_settings().resolved_database_url)
    import_book(engine=engine, directory=_book(tmp_path / "book"))
    state = daily_collection(as_of=AS_OF, now=EARLY, return_state=True)
    assert state.is_completed(), state.message
    yield engine
    engine.dispose()


@pytest.fixture
def payments_app(day_queued):  # type: ignore[no-untyped-def]
    """The webhook app with the payment endpoint, on 127.0.0.1; its clock is the replayed day's 09:00."""
    settings = get_settings()
    server = BackgroundServer(create_app(
        day_queued, twilio_auth_token="", sendgrid_public_key="", public_base_url="http://127.0.0.1", now=lambda: LATER,
        payment_key=KEY, record_payment=payment_recorder(day_queued, load_policy(settings.policy_path), settings),
    )).start()  # fmt: skip
    yield server.url
    server.stop()


def _post(url: str, payment: dict, key: str = KEY, at: datetime = LATER):  # type: ignore[no-untyped-def]
    body = json.dumps(payment).encode()
    stamp = str(int(at.timestamp()))
    sig = hmac.new(key.encode(), stamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    headers = {"X-Arrears-Timestamp": stamp, "X-Arrears-Signature": f"sha256={sig}", "Content-Type": "application/json"}
    return httpx.post(f"{url}/payments", content=body, headers=headers, timeout=30)


def _messages(engine, loan_no: str):  # type: ignore[no-untyped-def]
    with engine.connect() as conn:
        return conn.execute(
            text("SELECT m.channel, m.status, m.reason FROM outbox_message m JOIN loan l ON l.id = m.loan_id"
                 " WHERE l.loan_no = :n ORDER BY m.channel"), {"n": loan_no}
        ).all()  # fmt: skip


def _case(engine, loan_no: str) -> tuple:  # type: ignore[no-untyped-def,type-arg]
    with engine.connect() as conn:
        return tuple(conn.execute(text("SELECT c.status, c.close_reason FROM collection_case c JOIN loan l"
                                       " ON l.id = c.loan_id WHERE l.loan_no = :n"), {"n": loan_no}).one())  # fmt: skip


def test_payments_between_the_daily_runs_act_at_once_and_count_once(day_queued, payments_app, providers, tmp_path):
    engine, url = day_queued, payments_app
    assert {m.status for m in _messages(engine, "LN1")} == {"queued"}  # deferred to 08:00 by the guard

    # a payment that leaves nothing overdue: the case closes, the queued reminders are stopped
    paid = _post(url, {"reference": "BANK-1", "loan_no": "LN1", "paid_on": "2026-11-16", "amount": "3200.00"})
    assert paid.status_code == 200, paid.text
    assert paid.json()["cured"] is True and paid.json()["stopped"]["messages"] == 2
    assert {(m.status, m.reason) for m in _messages(engine, "LN1")} == {("suppressed", "cured: paid BANK-1")}
    assert _case(engine, "LN1") == ("closed", "cured")

    # a partial payment: the ladder goes on, the next message states what is left
    part = _post(url, {"reference": "BANK-2", "loan_no": "LN2", "paid_on": "2026-11-16", "amount": "1000.00"})
    assert part.json()["cured"] is False and part.json()["stopped"] == {}
    assert {m.status for m in _messages(engine, "LN2")} == {"queued"}
    owed, settings = Decimal(part.json()["overdue_after"]), get_settings()
    nxt = preview_message(
        engine=engine, policy=load_policy(settings.policy_path), lender=lender_from(settings), loan_no="LN2",
        as_of=day("2026-11-17"), template="m1_gentle", channel="sms", mask=False,
    )  # fmt: skip
    stated = Decimal(re.search(r"逾期金额¥([\d,.]+)", nxt.rendered.text).group(1).replace(",", ""))  # type: ignore[union-attr]
    assert Decimal("2000") < owed <= stated <= owed + Decimal("2.00")  # what is left, plus a day's penalty

    # forged, unsigned, stale: refused; a replay: applied once; not a payment: 400
    pay = {"reference": "BANK-3", "loan_no": "LN2", "paid_on": "2026-11-16", "amount": "10.00"}
    assert _post(url, pay, key="not-the-key").status_code == 403
    assert httpx.post(f"{url}/payments", json=pay).status_code == 403
    assert _post(url, pay, at=datetime(2026, 11, 16, 7, 0, tzinfo=SHANGHAI)).status_code == 403  # 2 h old
    assert [_post(url, pay).json()["status"] for _ in range(2)] == ["recorded", "already recorded"]
    for bad in ({"loan_no": "LN9"}, {"paid_on": "2026-11-17"}, {"amount": "1e3"}):
        assert _post(url, {**pay, "reference": "BANK-X"} | bad).status_code == 400, bad
    with engine.connect() as conn:
        refs = conn.execute(text("SELECT reference FROM payment WHERE reference LIKE 'BANK-%' ORDER BY 1")).scalars()
        assert list(refs) == ["BANK-1", "BANK-2", "BANK-3"]

    # the hourly dispatch sends what is still due: LN2's reminders, not LN1's
    dispatch_due(now=LATER)
    sent_to = collections.Counter([m["to"] for m in providers.sms] + [e["to"] for e in providers.emails])
    assert sent_to == {"+8613812340002": 1, "b2@example.cn": 1}

    # a bank's file: recorded at once, bad rows named, a second read changes nothing
    bank = tmp_path / "bank-2026-11-16.csv"
    bank.write_text(f"loan_no,paid_on,amount,reference\nLN2,2026-11-16,{owed - 10},F-1\nLN2,2026-11-16,12x,F-2\n"
                    "LN7,2026-11-16,10.00,F-3\n", encoding="utf-8")  # fmt: skip
    result = CliRunner().invoke(app, ["pay", "import", str(bank)])
    assert result.exit_code == 3, result.output
    assert "1 payments recorded" in result.output and "LN2: cured by F-1" in result.output
    assert "bank-2026-11-16.csv:3 [amount]" in result.output
    assert "bank-2026-11-16.csv:4 [loan_no] unknown loan LN7" in result.output
    assert _case(engine, "LN2") == ("closed", "cured")
    assert "0 payments recorded (1 already known)" in CliRunner().invoke(app, ["pay", "import", str(bank)]).output


def test_pay_now_links_are_signed_and_an_altered_one_is_refused():
    link = pay_link("https://pay.anxin.example", KEY, "LN00000042", Decimal("1551.76"))
    assert link.startswith("https://pay.anxin.example?loan=LN00000042&amount=1551.76&sig=")
    assert verify_pay_link(KEY, link) == ("LN00000042", Decimal("1551.76"))
    assert verify_pay_link(KEY, link.replace("1551.76", "1.00")) is None
    assert verify_pay_link(KEY, link.replace("LN00000042", "LN00000043")) is None
    assert pay_link("https://pay.anxin.example", "", "LN1", Decimal(1)) == "https://pay.anxin.example"


def test_reminder_emails_carry_their_loans_signed_link_and_still_batch():
    from dataclasses import replace

    from arrears.messaging.batching import Mergeable, batch
    from arrears.messaging.checks import SAMPLE_LENDER
    from arrears.messaging.compose import ActionToQueue, compose

    lender = replace(SAMPLE_LENDER, pay_key=KEY)
    owed = (Decimal("3000.00"), Decimal("100.00"), Decimal("3.00"), Decimal(0), Decimal("3103.00"))
    actions = [
        ActionToQueue(
            key=f"loan:LN{i}:m1_gentle_email:email:2026-11-16", as_of=AS_OF, channel="email", template="m1_gentle",
            borrower_id=f"B{i}", loan_id=i, loan_nos=(f"LN{i}",), name=f"借款人{i}", locale="zh_CN", phone=None,
            email=f"b{i}@example.cn", sms_consent=False, email_consent=True, loan_no=f"LN{i}", currency="CNY", dpd=2,
            overdue=owed, next_due_date=None, next_amount_due=Decimal(0),
        )  # fmt: skip
        for i in range(3)
    ]
    rows = compose(actions, {}, load_policy(None), lender, LATER).rows
    links = [r["body_text"].split("还款方式：")[1].split()[0] for r in rows]
    assert all(verify_pay_link(KEY, link) for link in links) and len(set(links)) == 3
    merged = [Mergeable(r["subject"], r["body_text"], r["body_html"], json.loads(r["merge_fields"])) for r in rows]
    assert [idx for idx, _ in batch(merged)] == [[0, 1, 2]]  # one request: the link is a substitution
