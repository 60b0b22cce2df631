"""Email through the lender's own mail server: real SMTP (STARTTLS, AUTH, DSN) against a local
aiosmtpd server; what each failure phase means; delivery status notifications by webhook and
from a Maildir."""

from __future__ import annotations

import mailbox
import random
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from arrears.cli import app
from arrears.fakeprovider.smtp import SMTP_USER
from arrears.providers.breaker import CircuitBreaker
from arrears.providers.dsn import NotADsn, parse_dsn
from arrears.providers.ratelimit import TokenBucket
from arrears.providers.smtp_email import SmtpCredentials, SmtpEmail, message_id
from arrears.steps.sender import Dispatcher, RetryRule
from models import OutboxMessage, Suppression
from tests.factories import seed_outbox

KEY = "loan:LN1:m2_firm_email:email:2026-11-23"
TO = "zhang.wei@example.cn"


@pytest.fixture
def fake(providers):  # type: ignore[no-untyped-def]
    providers.state.callbacks = False
    return providers


def _smtp(fake, password: str | None = None) -> SmtpEmail:  # type: ignore[no-untyped-def]
    creds = SmtpCredentials(
        "127.0.0.1", fake.mail.port, "starttls", SMTP_USER, password or fake.state.smtp_password, fake.mail.ca_file, 2
    )
    return SmtpEmail(creds, "collections@anxin.example", "Anxin Lending", "CN")


def _dispatcher(engine, provider, attempts: int = 3) -> Dispatcher:  # type: ignore[no-untyped-def]
    return Dispatcher(
        engine, provider, limiter=TokenBucket(0), retry=RetryRule(attempts, 0.01, 0.05, 0.05),
        now=lambda: datetime.now(UTC), sleep=lambda s: None, rng=random.Random(7), breaker=CircuitBreaker(8, 60),
    )  # fmt: skip


def _message(engine):  # type: ignore[no-untyped-def]
    with engine.connect() as conn:
        return conn.execute(select(OutboxMessage)).one()


def test_a_message_goes_over_starttls_with_auth_carrying_its_key(fake, fresh_db):
    seed_outbox(fresh_db, (KEY, "email", TO, "queued", None), body="您好，借款合同LN1已逾期。")
    report = _dispatcher(fresh_db, _smtp(fake)).send([1])
    [got] = fake.smtp_emails
    msg = _message(fresh_db)
    assert report.sent == 1 and (got["to"], got["key"]) == (TO, KEY)
    assert got["text"].strip() == "您好，借款合同LN1已逾期。"
    assert msg.provider_id == got["message_id"] == message_id(KEY, "collections@anxin.example").strip("<>")
    assert "NOTIFY=SUCCESS,FAILURE,DELAY" in got["rcpt_options"]  # the server offers DSN: we ask for one


def test_an_unknown_mailbox_is_permanent_and_a_busy_server_is_retried(fake, fresh_db):
    seed_outbox(fresh_db, (KEY, "email", "gone@example.cn", "queued", None), (KEY + "x", "email", TO, "queued", None))
    fake.state.invalid_numbers.add("gone@example.cn")
    fake.inject("smtp", "4xx")
    report = _dispatcher(fresh_db, _smtp(fake)).send([1, 2])
    with fresh_db.connect() as conn:
        rows = {r.recipient: (r.status, r.error_code) for r in conn.execute(select(OutboxMessage))}
    assert rows == {"gone@example.cn": ("failed", "550"), TO: ("sent", None)}
    assert (report.failed, report.sent) == (1, 1) and [m["to"] for m in fake.smtp_emails] == [TO]


def test_a_refused_login_keeps_the_message_queued_with_the_reason(fake, fresh_db):
    seed_outbox(fresh_db, (KEY, "email", TO, "queued", None))
    report = _dispatcher(fresh_db, _smtp(fake, password="wrong"), attempts=2).send([1])
    msg = _message(fresh_db)
    assert report.left_queued == 1 and fake.smtp_emails == []
    assert msg.status == "queued" and "SMTP login refused" in msg.reason


def test_a_dropped_connection_before_data_is_retried_on_a_fresh_session(fake, fresh_db):
    seed_outbox(fresh_db, (KEY, "email", TO, "queued", None))
    fake.inject("smtp", "drop")
    report = _dispatcher(fresh_db, _smtp(fake)).send([1])
    assert report.sent == 1 and len(fake.smtp_emails) == 1


def test_an_answer_lost_after_the_data_is_held_for_a_person_never_sent_twice(fake, fresh_db):
    seed_outbox(fresh_db, (KEY, "email", TO, "queued", None))
    fake.inject("smtp", "lost_response", delay_s=3)  # taken; the 250 comes after the 2 s timeout
    provider = _smtp(fake)
    report = _dispatcher(fresh_db, provider).send([1])
    assert report.undecided == 1 and _message(fresh_db).status == "sending"
    settled = _dispatcher(fresh_db, provider).reconcile([1], settle_after_s=0)
    assert settled.held == 1 and _message(fresh_db).status == "review"
    assert len(fake.smtp_emails) == 1  # the server has it once; nobody sent it again


def test_the_servers_dsn_reaches_the_outbox_through_the_webhook(providers, fresh_db):
    seed_outbox(fresh_db, (KEY, "email", TO, "queued", None))
    _dispatcher(fresh_db, _smtp(providers)).send([1])
    providers.callbacks.drain()
    assert _message(fresh_db).status == "delivered"
    url = f"{providers.webhooks.url}/smtp/dsn"
    assert httpx.post(url, content=b"x").status_code == 403
    assert httpx.post(f"{url}?token=forged", content=b"x").status_code == 403
    assert httpx.post(f"{url}?token={providers.state.smtp_dsn_token}", content=b"hello").status_code == 400


def _bounce(message_id: str, key: str, to: str, action: str = "failed", status: str = "5.1.1") -> bytes:
    return (
        "From: MAILER-DAEMON@mx.example.cn\r\nTo: collections@anxin.example\r\nSubject: Undelivered Mail\r\n"
        "MIME-Version: 1.0\r\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="b"\r\n\r\n'
        "--b\r\nContent-Type: text/plain\r\n\r\nI'm sorry to have to inform you...\r\n"
        "--b\r\nContent-Type: message/delivery-status\r\n\r\n"
        "Reporting-MTA: dns; mx.example.cn\r\nArrival-Date: Mon, 23 Nov 2026 09:00:00 +0800\r\n\r\n"
        f"Final-Recipient: rfc822; {to}\r\nAction: {action}\r\nStatus: {status}\r\n"
        "Diagnostic-Code: smtp; 550 5.1.1 <x>: Recipient address rejected: User unknown\r\n\r\n"
        f"--b\r\nContent-Type: text/rfc822-headers\r\n\r\nMessage-ID: <{message_id}>\r\nX-Arrears-Key: {key}\r\n"
        "Subject: overdue\r\n\r\n--b--\r\n"
    ).encode()


def test_a_hard_bounce_is_parsed_to_the_message_and_suppresses_the_address():
    [r] = parse_dsn(_bounce("abc.arrears@anxin.example", KEY, TO), datetime.now(UTC))
    assert (r.key, r.provider_id, r.new_status) == (KEY, "abc.arrears@anxin.example", "undelivered")
    assert r.error_code == "5.1.1"
    assert (r.opt_out, r.opt_out_reason) == (TO, "hard bounce") and "User unknown" in (r.detail or "")
    [later] = parse_dsn(_bounce("abc", KEY, TO, action="delayed", status="4.4.1"), datetime.now(UTC))
    assert later.new_status is None and later.opt_out is None
    with pytest.raises(NotADsn):
        parse_dsn(b"Subject: out of office\r\n\r\nback monday", datetime.now(UTC))


def test_bounces_read_from_a_maildir_apply_once(settings_env, fresh_db, tmp_path: Path):
    seed_outbox(fresh_db, (KEY, "email", TO, "sent", "abc.arrears@anxin.example"))
    box = mailbox.Maildir(tmp_path / "dsn", create=True)
    box.add(mailbox.MaildirMessage(_bounce("abc.arrears@anxin.example", KEY, TO)))
    box.add(mailbox.MaildirMessage(b"Subject: a reply from a person\r\n\r\nI paid yesterday"))
    result = CliRunner().invoke(app, ["bounces", "read", str(tmp_path / "dsn")])
    assert result.exit_code == 0, result.output
    assert "2 messages read: 1 delivery reports recorded, 1 not DSNs" in result.output
    again = CliRunner().invoke(app, ["bounces", "read", str(tmp_path / "dsn")])
    assert "1 messages read: 0 delivery reports recorded, 1 not DSNs" in again.output  # the person's mail stays new
    with fresh_db.connect() as conn:
        assert _message(fresh_db).status == "undelivered"
        assert conn.execute(select(Suppression.address, Suppression.reason)).all() == [(TO, "hard bounce")]
