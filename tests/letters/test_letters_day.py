"""A day's letters under the real flow: one archived PDF per planned letter, the
engine's figures, a mail-house batch, the PDF attached to its email, never twice."""

from __future__ import annotations

import csv
import hashlib
import os
import re
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import yaml
from pypdf import PdfReader
from sqlalchemy import select

from arrears.db import make_engine
from arrears.demo.synthetic import generate_book
from arrears.policy import DEFAULT_POLICY_PATH
from arrears.settings import get_settings
from arrears.steps.importing import import_book
from flows.daily import daily_collection
from models import CollectionAction, Letter, OutboxMessage, Position
from tests.factories import day

AS_OF = day("2026-11-23")
NOW = datetime(2026, 11, 23, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai"))


@pytest.fixture
def letters_book(providers, tmp_path, monkeypatch):  # type: ignore[no-untyped-def]
    """300 synthetic loans and a policy that sends every M2+ loan its letter (and M2/M3
    their email carrying it) every day, so one day has plenty of letters."""
    policy = yaml.safe_load(Path(DEFAULT_POLICY_PATH).read_text())
    for stage in ("M2", "M3", "M3+"):
        for spec in policy["strategy"][stage]["any"]:
            if spec["channel"] in ("letter", "email"):
                spec["start_day"], spec["every_days"] = 0, 1
    path = tmp_path / "policy.yaml"
    path.write_text(yaml.safe_dump(policy, allow_unicode=True))
    monkeypatch.setenv("ARREARS_POLICY_PATH", str(path))
    monkeypatch.setenv("ARREARS_LETTER_CHUNK", "25")
    get_settings.cache_clear()
    engine = make_engine(get_settings().resolved_database_url)
    generate_book(tmp_path / "book", loans=300, as_of=AS_OF, seed=11, bad_rows=False)
    import_book(engine=engine, directory=tmp_path / "book")
    yield engine
    engine.dispose()


def rows(engine, stmt):  # type: ignore[no-untyped-def]
    with engine.connect() as conn:
        return conn.execute(stmt).all()


def letters_dir() -> Path:
    return get_settings().resolved_letters_dir


def test_each_planned_letter_is_archived_once_with_the_engines_figures(prefect_harness, providers, letters_book):
    assert daily_collection(as_of=AS_OF, now=NOW, return_state=True).is_completed()
    planned = {
        k for (k,) in rows(letters_book, select(CollectionAction.key).where(CollectionAction.channel == "letter"))
    }
    letters = rows(letters_book, select(Letter))
    assert len(planned) >= 20
    assert {r.key for r in letters} == planned
    assert {r.status for r in letters} == {"rendered"}
    positions = {p.loan_id: p for p in rows(letters_book, select(Position).where(Position.as_of == AS_OF))}
    for r in letters:
        pos = positions[r.loan_id]
        engine_figures = (pos.overdue_principal, pos.overdue_interest, pos.overdue_penalty, pos.overdue_fees)
        assert (r.principal, r.interest, r.penalty, r.fees) == engine_figures
        assert (r.total, r.dpd) == (pos.overdue_total, pos.dpd)
        path = letters_dir() / r.path
        data = path.read_bytes()
        assert hashlib.sha256(data).hexdigest() == r.sha256
        assert len(PdfReader(path).pages) == r.pages
        text = re.sub(r"\s+", "", "".join(p.extract_text() for p in PdfReader(path).pages))
        assert f"{r.total:,.2f}" in text and r.reference in text and str(r.dpd) in text

    files = {p: p.read_bytes() for p in (letters_dir() / AS_OF.isoformat()).glob("*.pdf")}
    again = daily_collection(as_of=AS_OF, now=NOW, return_state=True)
    assert again.is_completed()
    assert len(rows(letters_book, select(Letter))) == len(letters)
    assert {p: p.read_bytes() for p in (letters_dir() / AS_OF.isoformat()).glob("*.pdf")} == files
    assert len(list((letters_dir() / AS_OF.isoformat() / "mailhouse").glob("*.pdf"))) == 1  # nothing new to print


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)  # about the PDFs: the SQL runs on both in the test above
def test_the_mail_house_gets_one_print_ready_pdf_with_a_manifest(prefect_harness, providers, letters_book):
    assert daily_collection(as_of=AS_OF, now=NOW, return_state=True).is_completed()
    letters = {r.reference: r for r in rows(letters_book, select(Letter))}
    (pdf,) = (letters_dir() / AS_OF.isoformat() / "mailhouse").glob("*.pdf")
    with pdf.with_suffix(".csv").open(encoding="utf-8") as fh:
        manifest = list(csv.DictReader(fh))
    assert {m["reference"] for m in manifest} == set(letters)
    reader = PdfReader(pdf)
    assert len(reader.pages) == sum(r.pages for r in letters.values())
    for m in manifest:
        r = letters[m["reference"]]
        assert (m["sha256"], int(m["pages"])) == (r.sha256, r.pages)
        assert m["address"] and m["borrower"] and m["loan"].startswith("LN")
        first = reader.pages[int(m["first_page"]) - 1].extract_text()
        assert m["reference"] in re.sub(r"\s+", "", first)
    assert not list((letters_dir() / AS_OF.isoformat() / "chunks").glob("*.pdf"))  # all inside the batch now
    assert {r.print_batch for r in letters.values()} == {pdf.stem}


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)  # the SQL runs on both in the first test
def test_the_letter_goes_out_attached_to_its_email(prefect_harness, providers, letters_book):
    assert daily_collection(as_of=AS_OF, now=NOW, return_state=True).is_completed()
    carried = rows(letters_book, select(OutboxMessage).where(OutboxMessage.letter_key.is_not(None)))
    letters = {r.key: r for r in rows(letters_book, select(Letter))}
    sent = {e["custom_args"]["arrears_key"]: e for e in providers.emails}
    assert len(carried) >= 5
    for msg in carried:
        letter = letters[msg.letter_key]
        assert letter.reference in msg.body_text
        if msg.status == "suppressed":  # no email consent: the letter goes by post only
            assert msg.key not in sent
            continue
        (attachment,) = sent[msg.key]["attachments"]
        assert attachment["filename"] == f"{letter.reference}.pdf"
        assert attachment["type"] == "application/pdf"
        assert attachment["sha256"] == letter.sha256
    others = [e for e in providers.emails if e["custom_args"]["arrears_key"] not in {m.key for m in carried}]
    assert others and all(e["attachments"] == [] for e in others)


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)  # the SQL runs on both in the first test
def test_a_borrower_without_an_address_fails_that_letter_alone_and_a_rerun_retries_it(
    prefect_harness, providers, letters_book
):
    from sqlalchemy import text

    with letters_book.begin() as conn:  # every tenth borrower has no postal address
        conn.execute(text("UPDATE borrower SET address = '' WHERE borrower_id LIKE '%0'"))
    assert daily_collection(as_of=AS_OF, now=NOW, return_state=True).is_completed()
    letters = rows(letters_book, select(Letter))
    failed = [r for r in letters if r.status == "failed"]
    assert failed and {r.borrower_id[-1] for r in failed} == {"0"}
    assert all(r.status == "rendered" for r in letters if not r.borrower_id.endswith("0"))
    assert all(f"letter {r.reference}" in r.error and "address: missing" in r.error for r in failed)
    assert all(r.path is None for r in failed)

    with letters_book.begin() as conn:
        conn.execute(text("UPDATE borrower SET address = '上海市黄浦区南京东路1号' WHERE address = ''"))
    assert daily_collection(as_of=AS_OF, now=NOW, return_state=True).is_completed()
    after = rows(letters_book, select(Letter))
    assert len(after) == len(letters) and {r.status for r in after} == {"rendered"}
    assert len(list((letters_dir() / AS_OF.isoformat() / "mailhouse").glob("*.csv"))) == 2  # the day's second batch


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)  # about the PDFs: the SQL runs on both in the test above
def test_letters_render_in_a_process_pool(prefect_harness, providers, letters_book, monkeypatch):
    monkeypatch.setenv("ARREARS_LETTER_WORKERS", "2")
    monkeypatch.setenv("ARREARS_LETTER_WORKER_CHUNKS", "1")  # a fresh pool every 2 chunks
    get_settings.cache_clear()
    assert daily_collection(as_of=AS_OF, now=NOW, return_state=True).is_completed()
    letters = rows(letters_book, select(Letter))
    assert len({r.chunk for r in letters}) >= 3 and {r.status for r in letters} == {"rendered"}


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)  # about the PDFs: the SQL runs on both in the test above
def test_arrears_letter_prints_the_pdfs_absolute_path_and_renders_it_once(providers, letters_book, fork_server):
    from arrears.engine import position_for
    from arrears.policy import load_policy
    from arrears.store.book import read_books
    from models import Loan

    policy = load_policy(get_settings().policy_path)
    with letters_book.connect() as conn:  # no run yet: the command computes the loan's position itself
        loans = conn.execute(select(Loan.id, Loan.loan_no).order_by(Loan.id)).all()
        target = next(
            no for lid, no in loans if position_for(read_books(conn, lid, lid, AS_OF)[0], AS_OF, policy).stage == "M2"
        )
    def arrears(*args: str):  # type: ignore[no-untyped-def]  # `python -m arrears ...`, forked warm
        return fork_server.capture(list(args), os.environ, timeout=120)

    cmd = ["letter", "--loan", target, "--as-of", AS_OF.isoformat()]
    first = arrears(*cmd)
    assert first.returncode == 0, first.stderr
    path = Path(first.stdout.strip())
    assert path.is_absolute() and path.exists() and path.suffix == ".pdf"
    assert target in re.sub(r"\s+", "", PdfReader(path).pages[0].extract_text())
    again = arrears(*cmd)
    assert again.returncode == 0 and again.stdout == first.stdout
    (letter,) = rows(letters_book, select(Letter))
    assert letter.key == f"loan:{target}:m2_demand_letter:letter:{AS_OF}"  # the daily run's key: never a second one

    missing = arrears(*cmd[:2], "NO-SUCH-LOAN", *cmd[3:])
    assert missing.returncode == 2 and "NO-SUCH-LOAN" in missing.stderr

    verify = ["letters", "verify", "--as-of", AS_OF.isoformat()]
    ok = arrears(*verify)
    assert ok.returncode == 0 and "1 letters checked, 0 missing or altered" in ok.stdout
    path.write_bytes(path.read_bytes() + b"\n")  # altered after it was archived
    bad = arrears(*verify)
    assert bad.returncode == 1 and letter.reference in bad.stderr and "differs from the recorded" in bad.stderr
