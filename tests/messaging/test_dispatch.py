"""The dispatcher against the fake providers through the real SDKs, without Prefect:
permanent errors, opt-outs, and what a crash leaves behind."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from arrears.providers.ratelimit import TokenBucket
from arrears.providers.sendgrid_email import SendGridCredentials, SendGridEmail
from arrears.providers.twilio_sms import TwilioCredentials, TwilioSms
from arrears.steps.sender import Dispatcher, RetryRule
from models import OutboxMessage, Suppression
from tests.factories import seed_outbox

KEY = "loan:LN1:m1_gentle_sms:sms:2026-11-23"
PHONE = "+8613812345678"


@pytest.fixture
def fake(providers):  # type: ignore[no-untyped-def]
    providers.state.callbacks = False  # only what the dispatcher itself learns
    return providers


def _twilio(fake, sender: str = "+15005550006") -> TwilioSms:  # type: ignore[no-untyped-def]
    creds = TwilioCredentials(fake.state.account_sid, fake.state.auth_token, fake.url, timeout_s=2)
    return TwilioSms(creds, sender, "http://127.0.0.1:9")


def _dispatcher(engine, provider, attempts: int = 3) -> Dispatcher:  # type: ignore[no-untyped-def]
    return Dispatcher(
        engine,
        provider,
        limiter=TokenBucket(0),
        retry=RetryRule(attempts, 0.01, 0.05, 0.05),
        now=lambda: datetime.now(UTC),
        sleep=lambda s: None if s <= 0 else __import__("time").sleep(min(s, 0.2)),
        rng=random.Random(7),
    )


def _message(engine):  # type: ignore[no-untyped-def]
    with engine.connect() as conn:
        return conn.execute(select(OutboxMessage)).one()


def test_an_invalid_number_fails_with_the_providers_code_and_is_not_retried(fake, fresh_db):
    seed_outbox(fresh_db, (KEY, "sms", PHONE, "queued", None))
    fake.state.invalid_numbers.add(PHONE)
    report = _dispatcher(fresh_db, _twilio(fake)).send([1])
    msg = _message(fresh_db)
    assert (report.failed, report.requests) == (1, 1)
    assert (msg.status, msg.error_code) == ("failed", "21211")


def test_twilio_21610_marks_the_recipient_opted_out_everywhere(fake, fresh_db):
    seed_outbox(fresh_db, (KEY, "sms", PHONE, "queued", None))
    fake.state.stopped_numbers.add(PHONE)
    _dispatcher(fresh_db, _twilio(fake)).send([1])
    assert (_message(fresh_db).status, _message(fresh_db).error_code) == ("suppressed", "21610")
    with fresh_db.connect() as conn:
        assert conn.execute(select(Suppression.address)).scalars().all() == [PHONE]


def test_a_messaging_service_sid_is_used_as_the_sender(fake, fresh_db):
    seed_outbox(fresh_db, (KEY, "sms", PHONE, "queued", None))
    _dispatcher(fresh_db, _twilio(fake, sender="MG" + "1" * 32)).send([1])
    assert fake.sms[0]["from"] == "MG" + "1" * 32
    assert _message(fresh_db).provider_id == fake.sms[0]["sid"]


def test_a_message_left_sending_that_the_provider_has_is_recovered_as_sent(fake, fresh_db):
    long_ago = datetime.now(UTC) - timedelta(minutes=10)
    seed_outbox(fresh_db, (KEY, "sms", PHONE, "queued", None), body="你好")
    _dispatcher(fresh_db, _twilio(fake)).send([1])  # it went out ...
    with fresh_db.begin() as conn:  # ... and the process died before recording it
        conn.execute(OutboxMessage.__table__.update().values(status="sending", provider_id=None, sending_at=long_ago))
    report = _dispatcher(fresh_db, _twilio(fake)).reconcile([1], settle_after_s=1)
    assert report.recovered == 1
    assert (_message(fresh_db).status, _message(fresh_db).provider_id) == ("sent", fake.sms[0]["sid"])
    assert len(fake.sms) == 1


def test_a_message_left_sending_that_never_went_out_is_queued_again(fake, fresh_db):
    seed_outbox(fresh_db, (KEY, "sms", PHONE, "sending", None), sending_at=datetime.now(UTC) - timedelta(minutes=10))
    report = _dispatcher(fresh_db, _twilio(fake)).reconcile([1], settle_after_s=1)
    assert report.requeued == 1 and _message(fresh_db).status == "queued"


def test_a_message_the_provider_cannot_account_for_is_held_for_review_not_resent(fake, fresh_db):
    seed_outbox(fresh_db, (KEY, "sms", PHONE, "sending", None), sending_at=datetime.now(UTC) - timedelta(minutes=10))
    fake.inject("twilio-lookup", "500")
    report = _dispatcher(fresh_db, _twilio(fake)).reconcile([1], settle_after_s=1)
    assert report.held == 1
    assert _message(fresh_db).status == "review"
    assert fake.sms == []


def test_an_email_left_sending_is_found_by_its_key(fake, fresh_db):
    key = "loan:LN1:m1_gentle_email:email:2026-11-23"
    seed_outbox(fresh_db, (key, "email", "z@example.cn", "queued", None))
    sg = SendGridEmail(SendGridCredentials(fake.state.api_key, fake.url, 2), "c@anxin.example")
    fake.inject("sendgrid", "lost_response", delay_s=4)  # accepted; the answer times out
    report = _dispatcher(fresh_db, sg).send([1])
    assert report.sent == 1 and report.requests == 1
    assert len(fake.emails) == 1 and fake.emails[0]["custom_args"]["arrears_key"] == key
    assert _message(fresh_db).status == "sent"
