"""The guard under the real flow: deferred messages go out at the next allowed moment (exactly
once), caps count a person, stop flags and third-party rules hold, and `arrears why` explains."""

from __future__ import annotations

import collections
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select, update
from typer.testing import CliRunner

from arrears.cli import app
from arrears.db import make_engine
from arrears.settings import get_settings
from arrears.steps.importing import import_book
from flows.daily import daily_collection
from flows.dispatch import dispatch_due
from models import CollectionAction, Conversation, OutboxMessage
from tests.factories import day, write_book
from tests.messaging.test_day_of_reminders import keys_at_fake

AS_OF = day("2026-11-23")
SHANGHAI = ZoneInfo("Asia/Shanghai")
CN = "zh_CN,Asia/Shanghai,true,true"
BORROWERS = [
    f"B1,张伟,110101199003071234,13812345678,zw@example.cn,上海市浦东新区,{CN}",  # three loans, one person
    "B2,Amy Lee,123456789,+12125550123,amy@example.com,New York,en_US,America/New_York,true,true",
    f"B3,李娜,110101199003075678,13812345679,ln@example.cn,上海市,{CN}",  # asked to stop all contact
    f"B4,王芳,110101199003079012,13812345670,wf@example.cn,上海市,{CN}",  # M3, a consenting contact
    f"B5,赵磊,110101199003073456,13812345671,zl@example.cn,上海市,{CN}",  # M3, a contact without consent
]
LOANS = {"LN1": "B1", "LN2": "B1", "LN3": "B1", "LN4": "B2", "LN5": "B3", "LN6": "B4", "LN7": "B5"}
M1_DUE = "2026-11-21"  # DPD 2 on the day: M1 day 1, the gentle SMS and email fire
M3_DUE = "2026-09-13"  # DPD 71: M3 day 10, the call-back request to an emergency contact fires


@pytest.fixture
def book(providers, tmp_path):  # type: ignore[no-untyped-def]
    loans = [f"{n},{b},consumer,CNY,3000.00,0.18,0.0005,0.00,0,2026-06-01" for n, b in LOANS.items()]
    installments = []
    for n in LOANS:
        first = M3_DUE if n in ("LN6", "LN7") else M1_DUE
        installments += [f"{n},1,{first},1000.00,20.00,0.00", f"{n},2,2026-12-21,1000.00,20.00,0.00"]
    write_book(
        tmp_path / "book",
        borrowers=BORROWERS,
        loans=loans,
        installments=installments,
        contacts=["B4,李四,friend,13900001111,true", "B5,王五,friend,13900002222,false"],
    )
    engine = make_engine(get_settings().resolved_database_url)
    import_book(engine=engine, directory=tmp_path / "book")
    yield engine
    engine.dispose()


def _cli(*args: str) -> str:
    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result.output


def actions(engine, borrower: str, channel: str = "sms") -> list:  # type: ignore[no-untyped-def]
    with engine.connect() as conn:
        q = select(CollectionAction).where(CollectionAction.borrower_id == borrower)
        q = q.where(CollectionAction.channel == channel)
        return list(conn.execute(q.order_by(CollectionAction.key)).all())


def outbox(engine) -> list:  # type: ignore[no-untyped-def]
    with engine.connect() as conn:
        return list(conn.execute(select(OutboxMessage).order_by(OutboxMessage.key)).all())


def at(hh: int, mm: int = 0, days: int = 0) -> datetime:
    return datetime(2026, 11, 23, hh, mm, tzinfo=SHANGHAI) + timedelta(days=days)


def test_a_0700_run_defers_shanghai_messages_to_0800_and_the_dispatch_sends_each_exactly_once(
    prefect_harness, providers, book
):
    _cli("flag", "set", "B3", "cease_contact", "--note", "asked by phone", "--on", "2026-11-22")
    assert daily_collection(as_of=AS_OF, now=at(7), return_state=True).is_completed()
    # New York is at 18:00 the day before: its messages went out with the run
    assert {m["to"] for m in providers.sms} == {"+12125550123"}
    waiting = [m for m in outbox(book) if m.status == "queued"]
    assert waiting and all(m.not_before == at(8) for m in waiting)

    assert dispatch_due(now=at(7, 30), return_state=True).is_completed()
    assert {m["to"] for m in providers.sms} == {"+12125550123"}  # still too early in Shanghai
    assert dispatch_due(now=at(8, 5), return_state=True).is_completed()
    assert dispatch_due(now=at(9, 5), return_state=True).is_completed()  # nothing left: sends nothing
    assert daily_collection(as_of=AS_OF, now=at(9, 10), return_state=True).is_completed()  # a re-run neither

    sent = keys_at_fake(providers)
    assert sent and set(sent.values()) == {1}
    assert {m.key for m in outbox(book) if m.status in ("sent", "delivered")} == set(sent)

    # a person with three loans gets at most the per-day cap: 2 SMS and 2 emails, not 3
    b1 = actions(book, "B1")
    assert [(a.status, a.rule) for a in b1].count(("suppressed", "cap_day")) == 1
    assert len([a for a in b1 if a.status == "planned"]) == 2
    # the cease-contact flag suppressed everything for B3, with its rule
    assert {(a.status, a.rule) for a in actions(book, "B3")} == {("suppressed", "cease_contact")}
    assert not [m for m in providers.sms if m["to"].endswith("12345679")]

    why = _cli("why", "LN1", "--as-of", "2026-11-23")
    assert "defer" in why and "hours" in why and "07:00" in why and "allow" in why
    assert "cease_contact" in _cli("why", "LN5", "--as-of", "2026-11-23")


def test_planned_at_2059_and_dispatched_at_2101_is_deferred_to_the_morning_while_new_york_is_reached(
    prefect_harness, providers, book
):
    assert daily_collection(as_of=AS_OF, now=at(20, 59), dry_run=True, return_state=True).is_completed()
    assert providers.sms == []
    assert dispatch_due(now=at(21, 1), return_state=True).is_completed()
    # 21:01 in Shanghai is 08:01 in New York: only Amy's messages may go
    assert {m["to"] for m in providers.sms} == {"+12125550123"}
    deferred = [m for m in outbox(book) if m.status == "queued"]
    assert deferred and all(m.not_before == at(8, days=1) for m in deferred)
    assert all(m.reason.startswith("hours:") for m in deferred)
    assert dispatch_due(now=at(8, 1, days=1), return_state=True).is_completed()
    assert all(m.status != "queued" for m in outbox(book))
    assert set(keys_at_fake(providers).values()) == {1}


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)  # the guard's SQL runs on both in the tests above
def test_a_third_party_gets_only_the_safe_call_back_request_and_only_with_consent(prefect_harness, providers, book):
    assert daily_collection(as_of=AS_OF, now=at(10), return_state=True).is_completed()
    to_contact = [m for m in providers.sms if m["to"].endswith("13900001111")]
    assert len(to_contact) == 1
    body = to_contact[0]["body"]
    assert "王芳" in body and "¥" not in body and "LN6" not in body and "逾期" not in body
    [b5] = [a for a in actions(book, "B5") if a.audience == "third_party"]
    assert (b5.status, b5.rule) == ("suppressed", "third_party_consent")
    assert not [m for m in providers.sms if m["to"].endswith("13900002222")]


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)  # the guard's SQL runs on both in the tests above
def test_the_days_summary_counts_decisions_by_rule(prefect_harness, providers, book):
    _cli("flag", "set", "B3", "bankruptcy")
    state = daily_collection(as_of=AS_OF, now=at(7), return_state=True)
    summary = state.result()
    counts = collections.Counter({f"{v}/{r}": n for (v, r), n in summary.guard.items()})
    assert counts["defer/hours"] > 0 and counts["suppress/cap_day"] == 2 and counts["suppress/bankruptcy"] > 0
    assert summary.held.get("bankruptcy", 0) == counts["suppress/bankruptcy"]


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)  # the guard's SQL runs on both in the tests above
def test_a_reply_before_the_morning_send_defers_that_borrowers_messages_by_the_conversation_gap(
    prefect_harness, providers, book
):
    assert daily_collection(as_of=AS_OF, now=at(7), return_state=True).is_completed()
    # B1 texts back at 07:30 ("I'll pay on Friday"): a conversation, recorded by the webhook app
    assert providers.reply("+8613812345678", "周五还款") == 200
    with book.begin() as conn:
        conn.execute(update(Conversation).values(at=at(7, 30)))  # the reply's time on this test's clock
    assert dispatch_due(now=at(8, 5), return_state=True).is_completed()
    b1 = [m for m in outbox(book) if m.borrower_id == "B1"]
    assert b1 and all(m.status == "queued" and m.reason.startswith("conversation_gap") for m in b1)
    # 48 hours after the reply is 07:30 on the 25th, before the window opens: 08:00 then
    assert all(m.not_before == at(8, days=2) for m in b1)
    others = [m for m in outbox(book) if m.borrower_id not in ("B1", "B2")]
    assert all(m.status in ("sent", "delivered") for m in others)
