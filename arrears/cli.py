"""The `arrears` command line: thin commands over the same functions the flows call."""

from __future__ import annotations

import json
import os
import sys
import time
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from arrears.settings import Settings, get_settings

app = typer.Typer(
    help="Arrears: a collections engine for lenders, on Prefect.", no_args_is_help=True, pretty_exceptions_enable=False
)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
app.add_typer(db_app, name="db")
out = Console()
err = Console(stderr=True)

AsOf = Annotated[
    str | None, typer.Option("--as-of", help="Business day, YYYY-MM-DD (default: today, lender's timezone).")
]


def _as_of(value: str | None, settings: Settings) -> date:
    if value is None:
        return settings.today(datetime.now(UTC))
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(f"{value!r} is not a date (YYYY-MM-DD)", param_hint="--as-of") from None


def _quiet_prefect() -> None:
    """Prefect defaults that suit a closed machine; an operator's own settings win."""
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
    # the first start of a fresh ~/.prefect migrates its database: give it time
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")


def _engine(settings: Settings) -> Any:
    from arrears.db import make_engine, upgrade

    engine = make_engine(settings.resolved_database_url)
    upgrade(engine)
    return engine


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Bring the schema to the latest migration.

    Example: arrears db upgrade
    """
    from arrears.db import current_revision

    engine = _engine(get_settings())
    out.print(f"schema at revision {current_revision(engine)}")


@app.command("import")
def import_(directory: Annotated[Path, typer.Argument(help="Folder with borrowers.csv, loans.csv, ...")]) -> None:
    """Import the loan book CSVs; bad rows are quarantined, good rows go through.

    Exit status: 0 all rows imported, 3 some rows quarantined, 2 a file cannot be read.

    Example: arrears import ./book
    """
    from arrears.book.load import import_book
    from arrears.book.reader import BookFileError
    from arrears.vault import VaultUnavailable

    engine = _engine(get_settings())
    try:
        with err.status(f"importing {directory} ..."):
            result = import_book(engine=engine, directory=directory)
    except (BookFileError, VaultUnavailable) as e:
        err.print(f"[red]import failed:[/red] {e}")
        raise typer.Exit(2) from None
    _print_import(result)
    raise typer.Exit(result.exit_code)


def _print_import(result: Any) -> None:
    table = Table(title=f"import #{result.import_run_id}")
    for col in ("file", "rows", "imported", "quarantined"):
        table.add_column(col, justify="left" if col == "file" else "right")
    for name, read in result.rows_read.items():
        bad = sum(1 for p in result.problems if p.file == name)
        table.add_row(name, str(read), str(result.rows_imported.get(name, 0)), str(bad))
    out.print(table)
    if result.problems:
        out.print(f"[yellow]{len(result.problems)} row(s) quarantined:[/yellow]")
        for p in result.problems:
            out.print(f"  {p.file}:{p.line} [{p.column or '-'}] {p.reason}", markup=False)


@app.command("run")
def run(
    as_of: AsOf = None,
    now: Annotated[
        str | None, typer.Option("--now", help="The clock, ISO timestamp with offset (default: the real clock).")
    ] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Render and record reminders; call no provider.")] = False,
) -> None:
    """Run the daily collection flow for a day (under Prefect: ephemeral, or PREFECT_API_URL).

    Example: arrears run --as-of 2026-11-23 --now 2026-11-23T09:00:00+08:00
    """
    settings = get_settings()
    clock = _now(now)
    day = _as_of(as_of, settings) if as_of or clock is None else settings.today(clock)
    _quiet_prefect()
    _engine(settings)
    from flows.daily import daily_collection

    with err.status(f"collection {day}: classifying, planning and sending under Prefect ..."):
        state = daily_collection(as_of=day, now=clock, dry_run=dry_run, return_state=True)
    if not state.is_completed():
        err.print(f"[red]collection {day} ended {state.name}[/red]: {state.message or ''}")
        raise typer.Exit(1)
    summary = state.result()
    sms, email = summary.message_count("sms"), summary.message_count("email")
    out.print(
        f"collection {day}: {summary.loans} loans, overdue {summary.overdue_text()}, "
        f"{summary.actions} actions for the day ({summary.new_actions} new); "
        f"messages: {sms} SMS, {email} email, {summary.sent_in_run} sent by this run"
        + (" (dry run)" if dry_run else "")
    )


@app.command()
def backfill(
    first: Annotated[str, typer.Option("--from", help="First day, YYYY-MM-DD.")],
    last: Annotated[str, typer.Option("--to", help="Last day, YYYY-MM-DD.")],
    now: Annotated[
        str | None, typer.Option("--now", help="The clock, ISO timestamp with offset (default: the real clock).")
    ] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Render and record reminders; call no provider.")] = False,
) -> None:
    """Replay a range of days in order (one daily run per day, as subflows of one flow run).

    Example: arrears backfill --from 2026-11-01 --to 2026-11-23
    """
    settings = get_settings()
    start, end = _as_of(first, settings), _as_of(last, settings)
    if end < start:
        raise typer.BadParameter(f"--to {end} is before --from {start}", param_hint="--to")
    _quiet_prefect()
    _engine(settings)
    from flows.backfill import backfill as backfill_flow

    with err.status(f"backfill {start}..{end} under Prefect ..."):
        state = backfill_flow(first=start, last=end, now=_now(now), dry_run=dry_run, return_state=True)
    if not state.is_completed():
        err.print(f"[red]backfill {start}..{end} ended {state.name}[/red]: {state.message or ''}")
        raise typer.Exit(1)
    for summary in state.result():
        out.print(
            f"collection {summary.as_of}: {summary.loans} loans, overdue {summary.overdue_text()}, "
            f"{summary.actions} actions ({summary.new_actions} new), {summary.sent_in_run} sent by this run"
        )


def _now(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(f"{value!r} is not an ISO timestamp", param_hint="--now") from None
    if parsed.tzinfo is None:
        raise typer.BadParameter("give a UTC offset, e.g. 2026-11-23T09:00:00+08:00", param_hint="--now")
    return parsed


@app.command("loans")
def loans(
    as_of: AsOf = None,
    stage: Annotated[str | None, typer.Option(help="Only this stage (pre_due, M1, M2, M3, M3+, current).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per loan, as a list.")] = False,
    limit: Annotated[int, typer.Option(help="At most this many loans (0 = all).")] = 0,
) -> None:
    """Each loan's DPD, stage, risk and overdue breakdown on a day.

    Reads the stored positions of that day's run; for a day not run yet they are computed on the fly.

    Example: arrears loans --as-of 2026-11-23 --stage M2 --json
    """
    from arrears.loan_report import loan_positions

    settings = get_settings()
    day = _as_of(as_of, settings)
    rows, stored = loan_positions(engine=_engine(settings), settings=settings, as_of=day, stage=stage, limit=limit)
    if not stored:
        err.print(f"no run stored for {day}: positions computed on the fly")
    if as_json:
        sys.stdout.write(json.dumps(rows, ensure_ascii=False, indent=1) + "\n")
        return
    table = Table(title=f"loans on {day}")
    for col in ("loan_no", "borrower_id", "dpd", "stage", "risk", "principal", "interest", "penalty", "fees", "total"):
        table.add_column(col, justify="right" if col not in ("loan_no", "borrower_id", "stage", "risk") else "left")
    for r in rows:
        o = r["overdue"]
        table.add_row(
            r["loan_no"],
            r["borrower_id"],
            str(r["dpd"]),
            r["stage"],
            r["risk"],
            o["principal"],
            o["interest"],
            o["penalty"],
            o["fees"],
            o["total"],
        )
    out.print(table)


@app.command("report")
def report(
    as_of: AsOf = None,
    from_: Annotated[str | None, typer.Option("--from", help="First day (default: 30 days before --as-of).")] = None,
) -> None:
    """Write the collections report (HTML and PDF, with charts) for a range of run days and
    print the two absolute paths.

    Example: arrears report --as-of 2026-11-23 --from 2026-10-01
    """
    from arrears.policy import load_policy
    from arrears.reports.build import write_report

    settings = get_settings()
    last = _as_of(as_of, settings)
    first = _as_of(from_, settings) if from_ else None
    try:
        files = write_report(
            _engine(settings), load_policy(settings.policy_path), settings.resolved_reports_dir, last, first,
            datetime.now(UTC),
        )  # fmt: skip
    except ValueError as e:
        err.print(f"[red]report failed:[/red] {e}")
        raise typer.Exit(2) from None
    print(files.html)
    print(files.pdf)


@app.command("server")
def server(
    port: Annotated[int, typer.Option(help="Port of the Prefect API and UI on 127.0.0.1.")] = 4200,
    database_url: Annotated[
        str | None,
        typer.Option(
            help="The Prefect server's database (default SQLite in PREFECT_HOME), e.g. "
            "postgresql+asyncpg://postgres@127.0.0.1:5432/prefect"
        ),
    ] = None,
    worker: Annotated[bool, typer.Option(help="Start a worker on the arrears-process pool.")] = True,
    deploy: Annotated[bool, typer.Option(help="Register the deployments of prefect.yaml.")] = True,
) -> None:
    """Start a local Prefect server (UI on http://127.0.0.1:PORT), the process work pool, the
    deployments (daily at 07:00 Asia/Shanghai, hourly dispatch, backfill) and a worker; Ctrl-C
    stops them. Point the CLI at it with PREFECT_API_URL=http://127.0.0.1:PORT/api.

    Example: arrears server --port 4200
    """
    from arrears.server import start_stack

    logs = (get_settings().var_dir / "prefect").resolve()
    try:
        stack = start_stack(port, logs, database_url, worker=worker, deploy=deploy)
    except (RuntimeError, TimeoutError) as e:
        err.print(f"[red]server failed:[/red] {e} (logs: {logs})")
        raise typer.Exit(2) from None
    out.print(f"Prefect UI: http://127.0.0.1:{port}   API: {stack.api_url}   logs: {logs}")
    out.print("deployments: daily-collection/daily, dispatch/dispatch, backfill/backfill; Ctrl-C stops")
    try:
        while all(p.poll() is None for p in stack.processes):
            time.sleep(1)
        err.print("[red]a process of the stack exited[/red]; see the logs")
    except KeyboardInterrupt:
        pass
    finally:
        stack.stop()


automations_app = typer.Typer(help="Prefect automations defined in deployments/automations/.", no_args_is_help=True)
app.add_typer(automations_app, name="automations")


@automations_app.command("apply")
def automations_apply(
    webhook_url: Annotated[
        str | None,
        typer.Option(envvar="ARREARS_OPS_WEBHOOK_URL", help="Create the notification block as a webhook to this URL."),
    ] = None,
) -> None:
    """Create (or replace) the automations of deployments/automations/ on the server in
    PREFECT_API_URL: ops are notified when a collection, dispatch or backfill run fails or crashes.

    Example: PREFECT_API_URL=http://127.0.0.1:4200/api arrears automations apply --webhook-url https://hooks.example/ops
    """
    from arrears.automations import OPS_BLOCK, apply_automations, save_webhook_block

    if webhook_url:
        save_webhook_block(webhook_url)
        out.print(f"notification block {OPS_BLOCK!r}: webhook (URL stored in the block, not printed)")
    try:
        ids = apply_automations()
    except LookupError as e:
        err.print(f"[red]automations not applied:[/red] {e}")
        raise typer.Exit(2) from None
    out.print(f"{len(ids)} automation(s) applied: " + ", ".join(str(i) for i in ids))


@app.command("demo")
def demo(
    loans: Annotated[int, typer.Option(help="Loans in the synthetic book.")] = 3000,
    as_of: AsOf = None,
    days: Annotated[int, typer.Option(help="Consecutive daily runs ending on --as-of.")] = 5,
) -> None:
    """Generate a synthetic book, import it through the CSV path and run several days of collection.

    Example: arrears demo --loans 3000 --days 5
    """
    from arrears.demo import run_demo

    settings = get_settings()
    _quiet_prefect()
    day = _as_of(as_of, settings)
    started = time.monotonic()
    code = run_demo(settings=settings, loans=loans, last_day=day, days=days, console=out)
    out.print(f"demo finished in {time.monotonic() - started:.0f} s")
    raise typer.Exit(code)


def _register_message_commands() -> None:
    from arrears import cli_messages as m

    app.command("preview")(m.preview)
    app.command("webhooks")(m.webhooks)
    app.command("fake-providers")(m.fake_providers)
    app.add_typer(m.templates_app, name="templates")
    app.add_typer(m.outbox_app, name="outbox")

    from arrears import cli_letters

    app.command("letter")(cli_letters.letter)
    app.add_typer(cli_letters.letters_app, name="letters")

    from arrears import cli_cases as c

    app.command("case")(c.case)
    app.add_typer(c.ptp_app, name="ptp")
    app.add_typer(c.dispute_app, name="dispute")
    app.add_typer(c.hardship_app, name="hardship")
    app.add_typer(c.calls_app, name="calls")
    app.add_typer(c.legal_app, name="legal")

    from arrears import cli_guard as g

    app.command("why")(g.why)
    app.command("retention")(g.retention)
    app.add_typer(g.flag_app, name="flag")
    app.add_typer(g.keys_app, name="keys")
    app.add_typer(g.borrower_app, name="borrower")


_register_message_commands()


def main() -> None:
    app()
