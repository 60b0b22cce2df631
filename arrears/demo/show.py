"""The demo's closing sections: what the days sent, printed, opened and decided, from the database."""

from __future__ import annotations

from datetime import date

from rich.console import Console
from rich.table import Table
from sqlalchemy import Engine

from arrears.fakeprovider import FakeProviders
from arrears.privacy import mask_name, mask_phone
from arrears.settings import Settings
from arrears.store import overview


def show_guard(engine: Engine, first: date, last: date, console: Console) -> None:
    console.rule(f"8. contact rules {first} .. {last} (every contact allowed, deferred or suppressed, with why)")
    with engine.connect() as conn:
        latest = overview.latest_decisions(conn)
        example = overview.held_message_example(conn)
    for verdict in ("allow", "defer", "suppress"):
        rules = [f"{r} {n}" for v, r, n in latest if v == verdict]
        if rules:
            console.print(f"{verdict:9} {sum(n for v, _r, n in latest if v == verdict):6}   " + ", ".join(rules))
    if example:
        loan = example.loan_nos.split(",")[0]
        console.print(f"why:             arrears why {loan} --as-of {example.as_of}", markup=False)
    console.print("stop contact:    arrears flag set B0000001 cease_contact", markup=False)


def show_cases(engine: Engine, last: date, console: Console) -> None:
    console.rule(f"7. cases, call queues and legal on {last}")
    with engine.connect() as conn:
        cases = overview.case_counts(conn)
        calls = overview.calls_per_collector(conn, last)
        legal = overview.legal_case_refs(conn)
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


def show_letters(
    engine: Engine, fake: FakeProviders, settings: Settings, first: date, last: date, console: Console
) -> None:
    console.rule(f"6. demand letters {first} .. {last} (WeasyPrint PDFs, archived with sha256)")
    with engine.connect() as conn:
        counts = overview.letter_counts(conn)
        sample = overview.rendered_letter_sample(conn, "zh_CN")
        batches = overview.print_batch_count(conn)
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


def show_messages(engine: Engine, fake: FakeProviders, first: date, last: date, console: Console) -> None:
    console.rule(f"5. reminders {first} .. {last} (real Twilio/SendGrid SDKs -> fake providers on 127.0.0.1)")
    with engine.connect() as conn:
        counts = overview.message_counts(conn)
        sample = overview.delivered_sms_sample(conn, "zh_CN")
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
