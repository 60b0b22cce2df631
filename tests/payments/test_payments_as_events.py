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

import pytest
from sqlalchemy import text
from starlette.testclient import TestClient
from typer.testing import CliRunner

from arrears.cli import app
from arrears.db import make_engine
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


def _client(engine, now: datetime = LATER) -> TestClient:  # type: ignore[no-untyped-def]
    settings = get_settings()
    return TestClient(create_app(
        engine, twilio_auth_token="", sendgrid_public_key="", public_base_url="http://testserver", now=lambda: now,
        payment_key=KEY, record_payment=payment_recorder(engine, load_policy(settings.policy_path), settings),
    ))  # fmt: skip


def _post(client: TestClient, payment: dict, key: str = KEY, at: datetime = LATER):  # type: ignore[no-untyped-def]
    body = json.dumps(payment).encode()
    stamp = str(int(at.timestamp()))
    sig = hmac.new(key.encode(), stamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    headers = {"X-Arrears-Timestamp": stamp, "X-Arrears-Signature": f"sha256={sig}", "Content-Type": "application/json"}
    return client.post("/payments", content=body, headers=headers)


def _messages(engine, loan_no: str):  # type: ignore[no-untyped-def]
    with engine.connect() as conn:
        return conn.execute(
            text("SELECT m.channel, m.status, m.reason FROM outbox_message m JOIN loan l ON l.id = m.loan_id"
                 " WHERE l.loan_no = :n ORDER BY m.channel"), {"n": loan_no}
        ).all()  # fmt: skip


def test_a_payment_between_queueing_and_sending_stops_the_message(day_queued, providers):
    assert {m.status for m in _messages(day_queued, "LN1")} == {"queued"}
    answer = _post(_client(day_queued), {"reference": "BANK-1", "loan_no": "LN1", "paid_on": "2026-11-16",
                                         "amount": "3200.00"})  # fmt: skip
    assert answer.status_code == 200, answer.text
    assert answer.json()["cured"] is True and answer.json()["stopped"]["messages"] == 2
    assert {(m.status, m.reason) for m in _messages(day_queued, "LN1")} == {("suppressed", "cured: paid BANK-1")}
    dispatch_due(now=LATER)  # the hourly dispatch at 09:00 sends what is still due: LN2's, not LN1's
    sent_to = collections.Counter([m["to"] for m in providers.sms] + [e["to"] for e in providers.emails])
    assert sent_to == {"+8613812340002": 1, "b2@example.cn": 1}
    with day_queued.connect() as conn:
        case = conn.execute(text("SELECT status, close_reason FROM collection_case c JOIN loan l ON l.id = c.loan_id"
                                 " WHERE l.loan_no = 'LN1'")).one()  # fmt: skip
    assert tuple(case) == ("closed", "cured")


def test_a_partial_payment_keeps_the_ladder_and_the_next_message_states_the_new_amount(day_queued):
    answer = _post(_client(day_queued), {"reference": "BANK-2", "loan_no": "LN2", "paid_on": "2026-11-16",
                                         "amount": "1000.00"})  # fmt: skip
    assert answer.json()["cured"] is False and answer.json()["stopped"] == {}
    assert {m.status for m in _messages(day_queued, "LN2")} == {"queued"}  # the ladder goes on
    owed = Decimal(answer.json()["overdue_after"])
    settings = get_settings()
    nxt = preview_message(
        engine=day_queued, policy=load_policy(settings.policy_path), lender=lender_from(settings), loan_no="LN2",
        as_of=day("2026-11-17"), template="m1_gentle", channel="sms", mask=False,
    )  # fmt: skip
    stated = Decimal(re.search(r"逾期金额¥([\d,.]+)", nxt.rendered.text).group(1).replace(",", ""))  # type: ignore[union-attr]
    assert Decimal("2000") < owed <= stated <= owed + Decimal("2.00")  # what is left, plus a day's penalty


def test_forged_stale_and_replayed_payment_calls_are_refused_or_applied_once(day_queued):
    client = _client(day_queued)
    pay = {"reference": "BANK-3", "loan_no": "LN2", "paid_on": "2026-11-16", "amount": "10.00"}
    assert _post(client, pay, key="not-the-key").status_code == 403
    assert client.post("/payments", json=pay).status_code == 403  # unsigned
    assert _post(client, pay, at=datetime(2026, 11, 16, 7, 0, tzinfo=SHANGHAI)).status_code == 403  # 2 h old
    first, again = _post(client, pay), _post(client, pay)
    assert (first.json()["status"], again.json()["status"]) == ("recorded", "already recorded")
    assert _post(client, {**pay, "reference": "BANK-4", "loan_no": "LN9"}).status_code == 400  # unknown loan
    assert _post(client, {**pay, "reference": "BANK-5", "paid_on": "2026-11-17"}).status_code == 400  # future
    assert _post(client, {**pay, "reference": "BANK-6", "amount": "1e3"}).status_code == 400
    with day_queued.connect() as conn:
        refs = conn.execute(text("SELECT reference FROM payment WHERE reference LIKE 'BANK-%'")).scalars().all()
    assert refs == ["BANK-3"]


def test_a_bank_file_is_recorded_at_once_bad_rows_named_and_a_second_read_changes_nothing(day_queued, tmp_path):
    bank = tmp_path / "bank-2026-11-16.csv"
    bank.write_text("loan_no,paid_on,amount,reference\nLN1,2026-11-16,3200.00,F-1\nLN2,2026-11-16,12x,F-2\n"
                    "LN7,2026-11-16,10.00,F-3\n", encoding="utf-8")  # fmt: skip
    result = CliRunner().invoke(app, ["pay", "import", str(bank)])
    assert result.exit_code == 3, result.output
    assert "1 payments recorded" in result.output and "LN1: cured by F-1" in result.output
    assert "bank-2026-11-16.csv:3 [amount]" in result.output
    assert "bank-2026-11-16.csv:4 [loan_no] unknown loan LN7" in result.output
    assert {m.status for m in _messages(day_queued, "LN1")} == {"suppressed"}
    again = CliRunner().invoke(app, ["pay", "import", str(bank)])
    assert "0 payments recorded (1 already known)" in again.output


def test_pay_now_links_are_signed_and_an_altered_one_is_refused():
    link = pay_link("https://pay.anxin.example", KEY, "LN00000042", Decimal("1551.76"))
    assert link.startswith("https://pay.anxin.example?loan=LN00000042&amount=1551.76&sig=")
    assert verify_pay_link(KEY, link) == ("LN00000042", Decimal("1551.76"))
    assert verify_pay_link(KEY, link.replace("1551.76", "1.00")) is None
    assert verify_pay_link(KEY, link.replace("LN00000042", "LN00000043")) is None
    assert pay_link("https://pay.anxin.example", "", "LN1", Decimal(1)) == "https://pay.anxin.example"


def test_reminder_emails_carry_their_loans_signed_link_and_still_batch(settings_env, monkeypatch):
    from arrears.messaging.batching import Mergeable, batch
    from arrears.messaging.compose import ActionToQueue, compose

    monkeypatch.setenv("ARREARS_PAY_LINK_KEY", KEY)
    get_settings.cache_clear()
    lender = lender_from(get_settings())
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
