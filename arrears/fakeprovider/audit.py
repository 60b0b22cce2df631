"""What the fake providers received, by our message key: the resilience suite and ``bench/faults.py``
compare it with the outbox (each message sent exactly once, none lost)."""

from __future__ import annotations

from collections import Counter
from typing import Any
from urllib.parse import parse_qs, urlparse

from sqlalchemy import Engine, text


def received_keys(fake: Any) -> Counter[str]:
    """How many times each message key reached a provider (Twilio by the status callback's key,
    SendGrid by ``custom_args``, the mail server by ``X-Arrears-Key``, Alibaba Cloud by ``OutId``)."""
    keys = [parse_qs(urlparse(m["status_callback"]).query)["key"][0] for m in fake.sms]
    keys += [e["custom_args"]["arrears_key"] for e in fake.emails]
    keys += [e["key"] for e in fake.smtp_emails]
    keys += [m["out_id"] for m in fake.aliyun_sms if not m["out_id"].startswith("batch-")]
    return Counter(keys)


def sent_keys(engine: Engine) -> Counter[str]:
    """The outbox's messages that went out (sent, delivered, or bounced after leaving)."""
    with engine.connect() as conn:
        rows = conn.execute(
            text("SELECT key FROM outbox_message WHERE status IN ('sent', 'delivered', 'undelivered')")
        ).scalars()
        return Counter(rows)


def exactly_once(fake: Any, engine: Engine) -> list[str]:
    """Problems: a message received twice, received but not recorded sent, recorded sent but never received."""
    got, sent = received_keys(fake), sent_keys(engine)
    problems = [f"{k} received {n} times" for k, n in sorted(got.items()) if n > 1]
    problems += [f"{k} received but not recorded as sent" for k in sorted(set(got) - set(sent))]
    problems += [f"{k} recorded as sent, never received" for k in sorted(set(sent) - set(got))]
    return problems
