"""`arrears demo`: a synthetic book through the real import path and real daily flow runs."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from prefect.blocks.system import Secret
from rich.console import Console
from rich.table import Table

from arrears.db import make_engine, upgrade
from arrears.demo.show import show_cases, show_guard, show_letters, show_messages
from arrears.demo.synthetic import generate_book
from arrears.fakeprovider import FakeProviders
from arrears.fakeprovider.server import LocalProviders
from arrears.ops.runs import tagged
from arrears.policy import load_policy
from arrears.secrets import DATA_KEYS_BLOCK, LOOKUP_KEY_BLOCK
from arrears.settings import Settings, get_settings
from arrears.steps.importing import import_book
from arrears.vault import IdVault, VaultUnavailable, new_key, vault_from
from flows.daily import daily_collection


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
            with tagged(settings):
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
    show_messages(engine, fake, first_day, last_day, console)
    show_letters(engine, fake, settings, first_day, last_day, console)
    show_cases(engine, last_day, console)
    show_guard(engine, first_day, last_day, console)
    return 0


def _where_to_look(settings: Settings, last_day: date, console: Console) -> None:
    console.rule("where to look")
    console.print(f"database:        {settings.resolved_database_url}")
    console.print(f"per-loan view:   arrears loans --as-of {last_day} --stage M2")
    console.print(f"one day again:   arrears run --as-of {last_day}   (plans and sends nothing new: keys are unique)")
    console.print(f"a message:       arrears preview --loan LN00000001 --as-of {last_day} --template m1_gentle")
    console.print("the outbox:      arrears outbox list --status delivered")
    console.print("real sending:    set ARREARS_TWILIO_* / ARREARS_SENDGRID_* (see README); try it on the fake first:")
    console.print("                 arrears fake-providers   and   arrears webhooks")
    console.print(prefect_ui_tip(settings), markup=False)


def prefect_ui_tip(settings: Settings) -> str:
    """Where this demo's runs can be seen: the configured server's UI, or — runs on Prefect's
    local database — ``arrears server``, which serves that same database."""
    from prefect.settings import PREFECT_API_URL, PREFECT_HOME, PREFECT_UI_URL  # noqa: PLC0415 - only at the end

    runs = f"flow runs 'collection-<day>' tagged arrears, {settings.environment}; artifact collection-summary"
    if PREFECT_API_URL.value():
        return f"Prefect UI:      {PREFECT_UI_URL.value() or PREFECT_API_URL.value()}   ({runs})"
    return (
        f"Prefect UI:      arrears server   then open http://127.0.0.1:4200   ({runs}; "
        f"it serves the same Prefect database, {PREFECT_HOME.value()})"
    )


def demo_vault(settings: Settings, console: Console) -> IdVault:
    """The ID-number keys: from the environment or the Prefect Secret blocks; on a first demo,
    new random keys saved as those Secret blocks (never in a file of the repository)."""
    try:
        return vault_from(settings)
    except VaultUnavailable:
        keys, lookup = new_key(), new_key()
        Secret(value=keys).save(DATA_KEYS_BLOCK, overwrite=False)
        Secret(value=lookup).save(LOOKUP_KEY_BLOCK, overwrite=False)
        console.print(
            f"created the Prefect Secret blocks {DATA_KEYS_BLOCK!r} and {LOOKUP_KEY_BLOCK!r} with new random keys "
            "(ID numbers are stored encrypted; see README: Personal data)"
        )
        return IdVault([keys], lookup)
