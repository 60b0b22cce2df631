"""Alibaba Cloud SMS through its official SDK against the fake (which checks every request's
ACS3-HMAC-SHA256 signature and writes the text from the registered template): what the handset
shows is what we rendered, batches, throttling, flow control, a lost answer, reports and replies."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime

import httpx
import pytest
from sqlalchemy import select

from arrears.messaging.checks import SAMPLE_LENDER
from arrears.messaging.content import sample_facts
from arrears.messaging.registered import load_registry
from arrears.messaging.render import merge_fields, render
from arrears.policy import load_policy
from arrears.providers.aliyun_sms import AliyunCredentials, AliyunSms
from arrears.providers.breaker import CircuitBreaker
from arrears.providers.ratelimit import TokenBucket
from arrears.steps.sender import Dispatcher, RetryRule
from models import OutboxMessage, Suppression
from tests.factories import seed_outbox

PHONES = ["+8613812345678", "+8613912345678", "+8615012345678"]


@pytest.fixture
def fake(providers):  # type: ignore[no-untyped-def]
    providers.state.callbacks = False  # only what the dispatcher itself learns
    return providers


def _aliyun(fake, secret: str | None = None) -> AliyunSms:  # type: ignore[no-untyped-def]
    creds = AliyunCredentials(fake.state.aliyun_key_id, secret or fake.state.aliyun_key_secret, fake.url, 2)
    return AliyunSms(creds, load_registry(load_policy(None).providers.aliyun))


def _dispatcher(engine, provider, attempts: int = 3) -> Dispatcher:  # type: ignore[no-untyped-def]
    return Dispatcher(
        engine, provider, limiter=TokenBucket(0), retry=RetryRule(attempts, 0.01, 0.05, 0.05),
        now=lambda: datetime.now(UTC), sleep=lambda s: None, rng=random.Random(7), breaker=CircuitBreaker(8, 60),
    )  # fmt: skip


def _seed(engine, *phones: str, template: str = "m2_firm") -> str:  # type: ignore[no-untyped-def]
    """Queued SMS rendered as the daily run renders them; returns their text."""
    facts = sample_facts("zh_CN")
    text = render("sms", template, facts, SAMPLE_LENDER).text
    rows = [(f"loan:LN1:{template}_sms:sms:2026-11-2{i}", "sms", p, "queued", None) for i, p in enumerate(phones)]
    seed_outbox(engine, *rows, body=text, template=template, fields=merge_fields(facts))
    return text


def _messages(engine):  # type: ignore[no-untyped-def]
    with engine.connect() as conn:
        return conn.execute(select(OutboxMessage).order_by(OutboxMessage.id)).all()


def test_the_handset_shows_exactly_the_text_we_rendered_and_recorded(fake, fresh_db):
    text = _seed(fresh_db, PHONES[0])
    report = _dispatcher(fresh_db, _aliyun(fake)).send([1])
    [sent] = fake.aliyun_sms
    [msg] = _messages(fresh_db)
    assert report.sent == 1 and sent["content"] == text == msg.body_text
    assert (sent["phone"], sent["sign"], sent["template_code"]) == ("13812345678", "安信小贷", "SMS_480010005")
    assert sent["out_id"] == msg.key  # a lost answer is found again by it
    assert (msg.status, msg.provider, msg.provider_id) == ("sent", "aliyun", f"{sent['biz_id']}/13812345678")


def test_messages_of_one_template_go_out_in_one_batch_request_each_with_its_own_id(fake, fresh_db):
    _seed(fresh_db, *PHONES)
    report = _dispatcher(fresh_db, _aliyun(fake)).send([1, 2, 3])
    assert (report.sent, report.requests) == (3, 1)
    assert [r[1] for r in fake.state.requests] == ["SendBatchSms"]
    ids = [m.provider_id for m in _messages(fresh_db)]
    assert len(set(ids)) == 3 and all(i.endswith(p.removeprefix("+86")) for i, p in zip(ids, PHONES, strict=True))


def test_a_request_signed_with_the_wrong_secret_is_refused_and_the_message_waits_queued(fake, fresh_db):
    _seed(fresh_db, PHONES[0])
    report = _dispatcher(fresh_db, _aliyun(fake, secret="not-the-secret"), attempts=2).send([1])
    [msg] = _messages(fresh_db)
    assert fake.aliyun_sms == [] and report.left_queued == 1  # the fake checked the signature and refused
    assert msg.status == "queued" and "SignatureDoesNotMatch" in msg.reason


def test_the_per_number_flow_control_is_permanent_for_the_day_not_retried(fake, fresh_db):
    _seed(fresh_db, PHONES[0])
    fake.inject("aliyun", "limit")
    report = _dispatcher(fresh_db, _aliyun(fake)).send([1])
    [msg] = _messages(fresh_db)
    assert (report.failed, report.requests) == (1, 1)
    assert (msg.status, msg.error_code) == ("failed", "isv.BUSINESS_LIMIT_CONTROL")


def test_throttling_is_retried_and_does_not_count_as_an_outage(fake, fresh_db):
    _seed(fresh_db, PHONES[0])
    fake.inject("aliyun", "429", count=2)
    breaker = CircuitBreaker(2, 60)
    dispatcher = _dispatcher(fresh_db, _aliyun(fake))
    dispatcher.breaker = breaker
    report = dispatcher.send([1])
    assert (report.sent, report.requests, len(fake.aliyun_sms)) == (1, 3, 1)
    assert not breaker.is_open


def test_a_lost_answer_is_settled_by_asking_alibaba_and_sends_nothing_twice(fake, fresh_db):
    _seed(fresh_db, PHONES[0])
    fake.inject("aliyun", "lost_response", delay_s=3)  # taken, the answer arrives after the 2 s timeout
    report = _dispatcher(fresh_db, _aliyun(fake)).send([1])
    [msg] = _messages(fresh_db)
    assert report.sent == 1 and len(fake.aliyun_sms) == 1
    assert msg.status == "sent" and "QuerySendDetails" in [r[1] for r in fake.state.requests]


def test_an_outage_leaves_the_message_queued_for_the_next_run(fake, fresh_db):
    _seed(fresh_db, PHONES[0])
    fake.inject("aliyun", "500", count=10)
    report = _dispatcher(fresh_db, _aliyun(fake), attempts=2).send([1])
    assert fake.aliyun_sms == [] and report.left_queued == 1  # asked after each 503: not there, so unsent
    assert _messages(fresh_db)[0].status == "queued"


def test_delivery_reports_and_a_td_reply_reach_the_outbox_through_the_token_url(providers, fresh_db):
    _seed(fresh_db, PHONES[0])
    _dispatcher(fresh_db, _aliyun(providers)).send([1])  # callbacks on: the fake pushes SmsReport
    providers.callbacks.drain()
    assert _messages(fresh_db)[0].status == "delivered"
    base, token = providers.webhooks.url, providers.state.aliyun_report_token
    reply = [{"phone_number": "13812345678", "send_time": "2026-11-23 10:00:00", "content": "TD", "sequence_id": 9}]
    assert httpx.post(f"{base}/aliyun/replies?token=wrong", json=reply).status_code == 403
    answer = httpx.post(f"{base}/aliyun/replies?token={token}", json=reply)
    assert answer.status_code == 200 and answer.json() == {"code": 0, "msg": "接收成功"}
    assert httpx.post(f"{base}/aliyun/replies?token={token}", content=b"[{").status_code == 400
    with fresh_db.connect() as conn:
        assert conn.execute(select(Suppression.address, Suppression.reason)).all() == [(PHONES[0], "TD")]


def test_the_registered_texts_shipped_read_exactly_as_our_templates():
    from arrears.messaging.registered import check_registered

    policy = load_policy(None)
    sms = {t for c, t in policy.message_templates() if c == "sms"}
    assert check_registered(policy.providers.aliyun, sms, SAMPLE_LENDER) == []


def test_a_registered_text_that_differs_from_ours_is_refused_naming_the_code_and_where(tmp_path):
    import shutil

    from arrears.messaging.registered import check_registered
    from arrears.templating import TEMPLATES

    shutil.copytree(TEMPLATES, tmp_path / "t")
    copy = tmp_path / "t" / "providers" / "aliyun" / "sms" / "zh_CN" / "m2_firm.txt"
    copy.write_text(copy.read_text(encoding="utf-8").replace("罚息", "利息"), encoding="utf-8")
    policy = load_policy(None)
    problems = check_registered(policy.providers.aliyun, {"m2_firm"}, SAMPLE_LENDER, tmp_path / "t")
    assert len(problems) == 1 and "SMS_480010005 (sms/zh_CN/m2_firm) differs from ours" in problems[0]
    assert "罚息" in problems[0] and "利息" in problems[0]


def test_a_template_the_policy_sends_without_a_registration_is_named(tmp_path):
    from arrears.messaging.registered import check_registered

    spec = load_policy(None).providers.aliyun.model_copy(update={"templates": {}})
    [problem, *_] = check_registered(spec, {"m1_gentle"}, SAMPLE_LENDER)
    assert problem == "aliyun: no registered template code for sms/zh_CN/m1_gentle (policy providers.aliyun)"


def test_template_variables_are_strings_as_alibaba_takes_them(fake, fresh_db):
    _seed(fresh_db, PHONES[0])
    _dispatcher(fresh_db, _aliyun(fake)).send([1])
    params = fake.aliyun_sms[0]["params"]
    assert set(params) == {"name", "contract", "dpd", "total", "deadline"}
    assert all(isinstance(v, str) for v in params.values()) and json.dumps(params)
