"""Routing messages to providers, and keeping personal data in the country: the rules, then a day
through the real flow with mainland numbers on Alibaba Cloud, the rest on Twilio, and email on the
lender's own mail server — each message at its provider exactly once, a re-run sending nothing."""

from __future__ import annotations

import collections
import sys
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from arrears.cli import app, main
from arrears.db import make_engine
from arrears.demo.synthetic import generate_book
from arrears.providers.routing import Routes, RoutingError, residency_problem
from arrears.settings import get_settings
from arrears.steps.importing import import_book
from flows.daily import daily_collection
from models import OutboxMessage
from tests.factories import day

AS_OF = day("2026-11-23")
NOW = datetime(2026, 11, 23, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai"))


def test_the_longest_matching_phone_prefix_wins_else_the_default():
    routes = Routes("sms", "twilio", {"+86": "aliyun", "+8613900": "twilio"})
    assert routes.provider_for("+8613812345678") == "aliyun"
    assert routes.provider_for("+8613900123456") == "twilio"  # a longer route overrides
    assert routes.provider_for("+14155550100") == "twilio"


def test_email_routes_match_the_address_domain_and_its_subdomains():
    routes = Routes("email", "sendgrid", {".cn": "smtp", "anxin.example": "smtp"})
    assert routes.provider_for("a@qq.com.cn") == "smtp" and routes.provider_for("b@mail.anxin.example") == "smtp"
    assert routes.provider_for("c@anxin.example") == "smtp" and routes.provider_for("d@gmail.com") == "sendgrid"
    assert routes.provider_for("e@notanxin.example") == "sendgrid"


def test_a_route_to_a_provider_that_does_not_carry_the_channel_is_refused():
    with pytest.raises(RoutingError, match="sms provider 'sendgrid' is not one of twilio, aliyun"):
        Routes("sms", "twilio", {"+86": "sendgrid"})


def test_residency_names_the_provider_its_region_the_setting_and_what_the_law_asks():
    assert residency_problem("aliyun", "CN", "CN") is None and residency_problem("twilio", "US", "") is None
    problem = residency_problem("twilio", "US", "CN")
    assert problem is not None
    assert "twilio processes personal data in US, outside ARREARS_DATA_REGION=CN" in problem and "PIPL" in problem


def test_a_run_that_would_send_data_abroad_is_refused_before_any_work(settings_env, monkeypatch, capsys):
    monkeypatch.setenv("ARREARS_DATA_REGION", "CN")
    monkeypatch.setattr(sys, "argv", ["arrears", "run", "--as-of", "2026-11-23", "--here"])
    get_settings.cache_clear()
    with pytest.raises(SystemExit) as exited:
        main()
    assert exited.value.code == 2
    assert "error: twilio processes personal data in US, outside ARREARS_DATA_REGION=CN" in capsys.readouterr().err
    monkeypatch.setenv("ARREARS_SMS_PROVIDER", "aliyun")
    monkeypatch.setenv("ARREARS_EMAIL_PROVIDER", "smtp")
    monkeypatch.setenv("ARREARS_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("ARREARS_SMTP_FROM", "collections@anxin.example")
    get_settings.cache_clear()
    assert CliRunner().invoke(app, ["providers", "check"]).exit_code == 0  # all in CN: the run may start


@pytest.fixture
def routed_book(providers, tmp_path, monkeypatch):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("ARREARS_SMS_ROUTES", '{"+86": "aliyun"}')
    monkeypatch.setenv("ARREARS_EMAIL_PROVIDER", "smtp")
    get_settings.cache_clear()
    engine = make_engine(get_settings().resolved_database_url)
    generate_book(tmp_path / "book", loans=150, as_of=AS_OF, seed=11, bad_rows=False)
    import_book(engine=engine, directory=tmp_path / "book")
    yield engine
    engine.dispose()


def _sent(engine):  # type: ignore[no-untyped-def]
    with engine.connect() as conn:
        q = select(OutboxMessage).where(OutboxMessage.status.in_(["sent", "delivered"]))
        return conn.execute(q).all()


def test_a_routed_day_reaches_each_provider_exactly_once(prefect_harness, providers, routed_book):
    state = daily_collection(as_of=AS_OF, now=NOW, return_state=True)
    assert state.is_completed(), state.message
    providers.callbacks.drain()
    sent = _sent(routed_book)
    sms = [m for m in sent if m.channel == "sms"]
    assert {m.provider for m in sms if m.recipient.startswith("+86")} == {"aliyun"}
    assert {m.provider for m in sms if not m.recipient.startswith("+86")} == {"twilio"}
    assert {m.provider for m in sent if m.channel == "email"} == {"smtp"}
    at_aliyun = collections.Counter(f"{m['biz_id']}/{m['phone']}" for m in providers.aliyun_sms)
    assert at_aliyun == collections.Counter(m.provider_id for m in sms if m.provider == "aliyun") and at_aliyun
    assert {m["content"] for m in providers.aliyun_sms} == {m.body_text for m in sms if m.provider == "aliyun"}
    assert sorted(m["to"] for m in providers.sms) == sorted(m.recipient for m in sms if m.provider == "twilio")
    at_smtp = collections.Counter(e["key"] for e in providers.smtp_emails)
    assert at_smtp == collections.Counter(m.key for m in sent if m.channel == "email") and at_smtp

    again = daily_collection(as_of=AS_OF, now=NOW, return_state=True)
    assert again.is_completed() and again.result().sent_in_run == 0
    # every report and DSN reached its message (one that raced the send's own record is linked by the next run)
    assert {m.status for m in _sent(routed_book) if m.provider in ("aliyun", "smtp")} == {"delivered"}
