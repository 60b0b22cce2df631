"""A day of reminders through the real Twilio and SendGrid SDKs against the fake providers."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select

from arrears.book.load import import_book
from arrears.db import make_engine
from arrears.synthetic import generate_book
from flows.daily import daily_collection
from models import CollectionAction, OutboxMessage
from tests.factories import day

AS_OF = day("2026-11-23")
NOW = datetime(2026, 11, 23, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai"))


def _book(tmp_path, url: str, loans: int = 300):  # type: ignore[no-untyped-def]
    engine = make_engine(url)
    generate_book(tmp_path / "book", loans=loans, as_of=AS_OF, seed=11, bad_rows=False)
    import_book(engine=engine, directory=tmp_path / "book")
    return engine


def _rows(engine, stmt):  # type: ignore[no-untyped-def]
    with engine.connect() as conn:
        return conn.execute(stmt).all()


def test_a_day_sends_exactly_the_planned_messages_and_a_rerun_sends_none(
    prefect_harness, providers, tmp_path
):
    engine = _book(tmp_path, providers_url(providers))
    state = daily_collection(as_of=AS_OF, now=NOW, return_state=True)
    assert state.is_completed(), state.message
    planned = _rows(engine, select(CollectionAction.key, CollectionAction.channel).where(CollectionAction.channel.in_(["sms", "email"])))
    messages = _rows(engine, select(OutboxMessage))
    assert {m.key for m in messages} == {k for k, _ in planned}
    sent = [m for m in messages if m.status not in ("suppressed",)]
    print(len(planned), len(sent), len(providers.sms), len(providers.emails))
    assert len(providers.sms) == sum(1 for m in sent if m.channel == "sms")
    assert len(providers.emails) == sum(1 for m in sent if m.channel == "email")

    again = daily_collection(as_of=AS_OF, now=NOW, return_state=True)
    assert again.is_completed(), again.message
    assert again.result().sent_in_run == 0


def providers_url(_fake) -> str:  # type: ignore[no-untyped-def]
    from arrears.settings import get_settings

    return get_settings().resolved_database_url
