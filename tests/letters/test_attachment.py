"""An email that carries a letter: the archived PDF goes with it, checked against its
sha256; a missing or altered file holds the email back instead of sending something else."""

from __future__ import annotations

import hashlib
import random
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import select, text, update

from arrears.providers.ratelimit import TokenBucket
from arrears.providers.sendgrid_email import SendGridCredentials, SendGridEmail
from arrears.steps.sender import Dispatcher, RetryRule
from models import OutboxMessage
from tests.factories import seed_outbox

EMAIL_KEY = "loan:LN1:m2_firm_email:email:2026-11-23"
LETTER_KEY = "loan:LN1:m2_demand_letter:letter:2026-11-23"
PDF = b"%PDF-1.7\n% a letter\n%%EOF\n"


@pytest.fixture
def outbox(providers, fresh_db, tmp_path):  # type: ignore[no-untyped-def]
    """One queued email that carries a rendered letter archived under tmp_path."""
    providers.state.callbacks = False
    seed_outbox(fresh_db, (EMAIL_KEY, "email", "z@example.cn", "queued", None))
    (tmp_path / "2026-11-23").mkdir()
    (tmp_path / "2026-11-23" / "DL-20261123-ABC.pdf").write_bytes(PDF)
    now = datetime.now(UTC)
    with fresh_db.begin() as conn:
        conn.execute(update(OutboxMessage).values(letter_key=LETTER_KEY))
        conn.execute(
            text(
                "INSERT INTO letter (key, reference, as_of, loan_id, borrower_id, template, locale, addressee, address,"
                " currency, dpd, principal, interest, penalty, fees, total, deadline, status, path, sha256, pages,"
                " created_at, updated_at) VALUES (:k, 'DL-20261123-ABC', :d, 1, 'B1', 'm2_demand_letter', 'zh_CN',"
                " '张伟', '上海市', 'CNY', 35, 100000, 0, 0, 0, 100000, :dl, 'rendered',"
                " '2026-11-23/DL-20261123-ABC.pdf', :sha, 1, :t, :t)"
            ),
            {
                "k": LETTER_KEY,
                "d": date(2026, 11, 23),
                "dl": date(2026, 12, 8),
                "sha": hashlib.sha256(PDF).hexdigest(),
                "t": now,
            },
        )
    return fresh_db


def dispatcher(engine, fake, letters_dir) -> Dispatcher:  # type: ignore[no-untyped-def]
    return Dispatcher(
        engine,
        SendGridEmail(SendGridCredentials(fake.state.api_key, fake.url, 2), "c@anxin.example"),
        limiter=TokenBucket(0),
        retry=RetryRule(2, 0.01, 0.05, 0.05),
        now=lambda: datetime.now(UTC),
        sleep=lambda s: None,
        rng=random.Random(7),
        letters_dir=letters_dir,
    )


def status(engine) -> tuple[str, str | None]:  # type: ignore[no-untyped-def]
    with engine.connect() as conn:
        row = conn.execute(select(OutboxMessage.status, OutboxMessage.reason)).one()
    return row.status, row.reason


def test_the_archived_pdf_is_attached(providers, outbox, tmp_path):
    report = dispatcher(outbox, providers, tmp_path).send([1])
    assert report.sent == 1
    (email,) = providers.emails
    assert email["attachments"] == [
        {
            "filename": "DL-20261123-ABC.pdf",
            "type": "application/pdf",
            "disposition": "attachment",
            "size": len(PDF),
            "sha256": hashlib.sha256(PDF).hexdigest(),
        }
    ]


def test_an_altered_letter_file_holds_the_email_back(providers, outbox, tmp_path):
    (tmp_path / "2026-11-23" / "DL-20261123-ABC.pdf").write_bytes(PDF.replace(b"a letter", b"a forgery"))
    report = dispatcher(outbox, providers, tmp_path).send([1])
    assert (report.sent, report.left_queued) == (0, 1)
    assert providers.emails == []
    assert status(outbox) == ("queued", "letter DL-20261123-ABC not attached: file does not match its sha256")


def test_a_missing_letter_file_holds_the_email_back(providers, outbox, tmp_path):
    (tmp_path / "2026-11-23" / "DL-20261123-ABC.pdf").unlink()
    report = dispatcher(outbox, providers, tmp_path).send([1])
    assert report.left_queued == 1 and providers.emails == []
    assert status(outbox)[1].startswith("letter DL-20261123-ABC not attached")


def test_an_email_whose_letter_is_not_rendered_yet_waits(providers, outbox, tmp_path):
    with outbox.begin() as conn:
        conn.execute(text("DELETE FROM letter"))
    report = dispatcher(outbox, providers, tmp_path).send([1])
    assert report.left_queued == 1 and providers.emails == []
    assert status(outbox)[0] == "queued"
