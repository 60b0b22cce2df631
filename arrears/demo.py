"""`arrears demo`: a synthetic book through the real import path and real daily flow runs."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from rich.console import Console
from rich.table import Table
from sqlalchemy import Engine, func, select, text

from arrears.book.load import import_book
from arrears.db import make_engine, upgrade
from arrears.fakeprovider import FakeProviders
from arrears.fakeprovider.server import LocalProviders
from arrears.policy import load_policy
from arrears.privacy import mask_name, mask_phone
from arrears.settings import Settings, get_settings
from arrears.synthetic import generate_book
from arrears.vault import DATA_KEYS_BLOCK, LOOKUP_KEY_BLOCK, IdVault, VaultUnavailable, new_key, vault_from
from models import Borrower, Letter, Loan, OutboxMessage


@contextmanager
def fake_providers(settings: Settings) -> Iterator[FakeProviders]:
    """The fake Twilio + SendGrid and our webhook app on 127.0.0.1, with ARREARS_* pointing
    the real SDKs at them for the length of the demo."""
    engine = make_engine(settings.resolved_database_url)
    local = LocalProviders(engine).start()
    env = {**local.env(), "ARREARS_SMS_RATE_PER_S": "50"}
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    os.environ.setdefault("NO_PROXY", "127.0.0.1,localhost")
    get_settings.cache_clear()
    try:
        yield local.fake
    finally:
        local.stop()
        engine.dispose()
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        get_settings.cache_clear()


def run_demo(*, settings: Settings, loans: int, last_day: date, days: int, console: Console) -> int:
    with fake_providers(settings) as fake:
        code = _run_demo(settings=settings, loans=loans, last_day=last_day, days=days, console=console, fake=fake)
    if code == 0:
        _where_to_look(settings, last_day, console)
    return code


def _run_demo(
    *, settings: Settings, loans: int, last_day: date, days: int, console: Console, fake: FakeProviders
) -> int:
    from flows.daily import daily_collection  # imports Prefect: only when the demo runs

    engine = make_engine(settings.resolved_database_url)
    upgrade(engine)
    book_dir = (settings.var_dir / "demo-book").resolve()
    first_day = last_day - timedelta(days=days - 1)
    with console.status(f"generating {loans} loans ..."):
        stats = generate_book(book_dir, loans=loans, as_of=last_day)
    console.rule("1. synthetic loan book")
    console.print(
        f"{stats.loans} loans, {stats.borrowers} borrowers, {stats.installments} installments, "
        f"{stats.payments} payments -> {book_dir}"
    )
    console.print(f"({stats.bad_rows} deliberately bad rows included, to show the quarantine)")
    console.rule("2. import through the CSV path")
    vault = demo_vault(settings, console)
    with console.status("importing ..."):
        result = import_book(engine=engine, directory=book_dir, vault=vault)
    console.print(f"imported {sum(result.rows_imported.values())} rows, quarantined {len(result.problems)}:")
    for p in result.problems:
        console.print(f"  {p.file}:{p.line} [{p.column or '-'}] {p.reason}", markup=False)
    console.rule(f"3. daily collection runs {first_day} .. {last_day}")
    summary = None
    for offset in range(days):
        day = first_day + timedelta(days=offset)
        with console.status(f"collection {day} ({offset + 1}/{days}) ..."):
            morning = datetime.combine(day, time(9, 0), ZoneInfo(settings.lender_timezone))
            state = daily_collection(as_of=day, now=morning, return_state=True)
        if not state.is_completed():
            console.print(f"[red]collection {day} ended {state.name}: {state.message}[/red]")
            return 1
        summary = state.result()
        console.print(
            f"collection-{day}: {summary.loans} loans, overdue {summary.overdue_text()}, "
            f"{summary.actions} actions for the day ({summary.new_actions} new), "
            f"{summary.sent_in_run} SMS/email sent"
        )
    assert summary is not None
    fake.callbacks.drain()
    console.rule(f"4. where the book stands on {last_day}")
    policy = load_policy(settings.policy_path)
    table = Table()
    for col in ("stage", "low", "medium", "high", "loans", "overdue"):
        table.add_column(col, justify="left" if col == "stage" else "right")
    for stage in policy.stage_rules.names:
        row = [str(summary.by_stage_risk.get((stage, r), 0)) for r in ("low", "medium", "high")]
        table.add_row(stage, *row, str(summary.stage_count(stage)), summary.overdue_text(stage))
    console.print(table)
    console.print(
        "actions planned on the last day: "
        + ", ".join(f"{c} {n}" for c, n in sorted(summary.actions_by_channel.items()))
    )
    _show_messages(engine, fake, first_day, last_day, console)
    _show_letters(engine, fake, settings, first_day, last_day, console)
    _show_cases(engine, last_day, console)
    _show_guard(engine, first_day, last_day, console)
    return 0


def _show_guard(engine: Engine, first: date, last: date, console: Console) -> None:
    console.rule(f"8. contact rules {first} .. {last} (every contact allowed, deferred or suppressed, with why)")
    with engine.connect() as conn:
        latest = conn.execute(
            text(
                "SELECT d.verdict, d.rule, COUNT(*) FROM contact_decision d WHERE d.id IN"
                " (SELECT MAX(id) FROM contact_decision GROUP BY key) GROUP BY d.verdict, d.rule"
                " ORDER BY d.verdict, COUNT(*) DESC"
            )
        ).all()
        example = conn.execute(
            text(
                "SELECT a.loan_nos, a.as_of FROM collection_action a WHERE a.rule NOT IN ('allowed')"
                " AND a.channel IN ('sms', 'email') ORDER BY a.as_of DESC, a.key LIMIT 1"
            )
        ).first()
    for verdict in ("allow", "defer", "suppress"):
        rules = [f"{r} {n}" for v, r, n in latest if v == verdict]
        if rules:
            console.print(f"{verdict:9} {sum(n for v, _r, n in latest if v == verdict):6}   " + ", ".join(rules))
    if example:
        loan = example.loan_nos.split(",")[0]
        console.print(f"why:             arrears why {loan} --as-of {example.as_of}", markup=False)
    console.print("stop contact:    arrears flag set B0000001 cease_contact", markup=False)


def _show_cases(engine: Engine, last: date, console: Console) -> None:
    console.rule(f"7. cases, call queues and legal on {last}")
    with engine.connect() as conn:
        cases = dict(conn.execute(text("SELECT status, COUNT(*) FROM collection_case GROUP BY status")).all())
        calls = conn.execute(
            text("SELECT collector, COUNT(*) FROM call_task WHERE as_of = :d GROUP BY collector ORDER BY collector"),
            {"d": last},
        ).all()
        legal = conn.execute(
            text("SELECT g.reference, l.loan_no FROM legal_case g JOIN loan l ON l.id = g.loan_id ORDER BY g.reference")
        ).all()
    console.print(
        f"collection cases: {cases.get('open', 0)} open, {cases.get('closed', 0)} closed (cured); "
        f"call tasks today: " + (", ".join(f"{c} {n}" for c, n in calls) or "none")
    )
    console.print(f"legal cases: {len(legal)} (lawyer's letter -> litigation -> enforcement, owners, due dates)")
    if legal:
        console.print(f"one case:        arrears case {legal[0].loan_no} --as-of {last}", markup=False)
        console.print(f"its legal work:  arrears legal show {legal[0].reference}", markup=False)
        console.print("evidence packs:  arrears legal export --out var/legal", markup=False)
    console.print(f"call queues:     arrears calls --as-of {last}", markup=False)


def _show_letters(
    engine: Engine, fake: FakeProviders, settings: Settings, first: date, last: date, console: Console
) -> None:
    console.rule(f"6. demand letters {first} .. {last} (WeasyPrint PDFs, archived with sha256)")
    with engine.connect() as conn:
        counts = conn.execute(
            select(Letter.template, Letter.locale, Letter.status, func.count(), func.sum(Letter.pages)).group_by(
                Letter.template, Letter.locale, Letter.status
            )
        ).all()
        sample = conn.execute(
            select(Letter.path, Letter.sha256, Letter.as_of, Loan.loan_no)
            .join(Loan, Loan.id == Letter.loan_id)
            .where(Letter.status == "rendered", Letter.locale == "zh_CN")
            .order_by(Letter.key)
        ).first()
        batches = conn.execute(select(func.count(func.distinct(Letter.print_batch)))).scalar()
    table = Table()
    for col in ("letter", "locale", "status", "letters", "pages"):
        table.add_column(col, justify="right" if col in ("letters", "pages") else "left")
    for template, locale, status, n, pages in sorted(counts):
        table.add_row(template, locale, status, str(n), str(pages or 0))
    console.print(table)
    attached = sum(1 for e in fake.emails if e.get("attachments"))
    console.print(f"{attached} emails carried their letter as a PDF attachment; {batches} mail-house batches")
    if sample is not None:
        path = settings.resolved_letters_dir / sample.path
        console.print(f"a letter:        {path}", markup=False)
        console.print(f"its sha256:      {sample.sha256}", markup=False)
        console.print(f"mail house:      {path.parent / 'mailhouse'}/*.pdf + *.csv (manifest)", markup=False)
        console.print(f"the same letter: arrears letter --loan {sample.loan_no} --as-of {sample.as_of}", markup=False)


def _show_messages(engine: Engine, fake: FakeProviders, first: date, last: date, console: Console) -> None:
    console.rule(f"5. reminders {first} .. {last} (real Twilio/SendGrid SDKs -> fake providers on 127.0.0.1)")
    with engine.connect() as conn:
        counts = conn.execute(
            select(OutboxMessage.channel, OutboxMessage.status, func.count()).group_by(
                OutboxMessage.channel, OutboxMessage.status
            )
        ).all()
        sample = conn.execute(
            select(OutboxMessage.recipient, OutboxMessage.body_text, Borrower.name)
            .join(Borrower, Borrower.borrower_id == OutboxMessage.borrower_id)
            .where(OutboxMessage.channel == "sms", OutboxMessage.locale == "zh_CN", OutboxMessage.status == "delivered")
            .order_by(OutboxMessage.id)
            .limit(1)
        ).first()
    table = Table()
    for col in ("channel", "status", "messages"):
        table.add_column(col, justify="right" if col == "messages" else "left")
    for channel, status, n in sorted(counts):
        table.add_row(channel, status, str(n))
    console.print(table)
    console.print(
        f"the fake providers received {len(fake.sms)} SMS and {len(fake.emails)} emails "
        f"({sum(1 for _, w, _ in fake.state.requests if w == 'POST mail/send')} SendGrid requests); "
        "delivery receipts came back through the signed webhooks"
    )
    if sample is not None:
        masked = sample.body_text.replace(sample.name, mask_name(sample.name))  # no personal data in output
        console.print(f"a delivered SMS to {mask_phone(sample.recipient)}:", markup=False)
        console.print(f"  {masked}", markup=False, highlight=False)


def _where_to_look(settings: Settings, last_day: date, console: Console) -> None:
    console.rule("where to look")
    console.print(f"database:        {settings.resolved_database_url}")
    console.print(f"per-loan view:   arrears loans --as-of {last_day} --stage M2")
    console.print(f"one day again:   arrears run --as-of {last_day}   (plans and sends nothing new: keys are unique)")
    console.print(f"a message:       arrears preview --loan LN00000001 --as-of {last_day} --template m1_gentle")
    console.print("the outbox:      arrears outbox list --status delivered")
    console.print("real sending:    set ARREARS_TWILIO_* / ARREARS_SENDGRID_* (see README); try it on the fake first:")
    console.print("                 arrears fake-providers   and   arrears webhooks")
    console.print(
        "Prefect UI:      prefect server start   then open http://127.0.0.1:4200 "
        "(flow runs 'collection-<day>', with the summary artifact)"
    )


def demo_vault(settings: Settings, console: Console) -> IdVault:
    """The ID-number keys: from the environment or the Prefect Secret blocks; on a first demo,
    new random keys saved as those Secret blocks (never in a file of the repository)."""
    try:
        return vault_from(settings)
    except VaultUnavailable:
        from prefect.blocks.system import Secret

        keys, lookup = new_key(), new_key()
        Secret(value=keys).save(DATA_KEYS_BLOCK, overwrite=False)
        Secret(value=lookup).save(LOOKUP_KEY_BLOCK, overwrite=False)
        console.print(
            f"created the Prefect Secret blocks {DATA_KEYS_BLOCK!r} and {LOOKUP_KEY_BLOCK!r} with new random keys "
            "(ID numbers are stored encrypted; see README: Personal data)"
        )
        return IdVault([keys], lookup)
