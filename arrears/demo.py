"""`arrears demo`: a synthetic book through the real import path and real daily flow runs."""

from __future__ import annotations

from datetime import date, timedelta

from rich.console import Console
from rich.table import Table

from arrears.book.load import import_book
from arrears.db import make_engine, upgrade
from arrears.policy import load_policy
from arrears.settings import Settings
from arrears.synthetic import generate_book


def run_demo(*, settings: Settings, loans: int, last_day: date, days: int, console: Console) -> int:
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
    with console.status("importing ..."):
        result = import_book(engine=engine, directory=book_dir)
    console.print(f"imported {sum(result.rows_imported.values())} rows, quarantined {len(result.problems)}:")
    for p in result.problems:
        console.print(f"  {p.file}:{p.line} [{p.column or '-'}] {p.reason}", markup=False)
    console.rule(f"3. daily collection runs {first_day} .. {last_day}")
    summary = None
    for offset in range(days):
        day = first_day + timedelta(days=offset)
        with console.status(f"collection {day} ({offset + 1}/{days}) ..."):
            state = daily_collection(as_of=day, return_state=True)
        if not state.is_completed():
            console.print(f"[red]collection {day} ended {state.name}: {state.message}[/red]")
            return 1
        summary = state.result()
        console.print(
            f"collection-{day}: {summary.loans} loans, overdue {summary.overdue_text()}, "
            f"{summary.actions} actions for the day ({summary.new_actions} new)"
        )
    assert summary is not None
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
    console.rule("where to look")
    console.print(f"database:        {settings.resolved_database_url}")
    console.print(f"per-loan view:   arrears loans --as-of {last_day} --stage M2")
    console.print(f"one day again:   arrears run --as-of {last_day}   (plans nothing new: keys are unique)")
    console.print(
        "Prefect UI:      prefect server start   then open http://127.0.0.1:4200 "
        "(flow runs 'collection-<day>', with the summary artifact)"
    )
    return 0
