"""Running the daily flow: one day, a range of days, the demo."""

from __future__ import annotations

import time
from datetime import date, datetime
from typing import Annotated

import typer
from rich.console import Console
from sqlalchemy import Engine

from arrears.cli.common import (
    AsOf,
    DryRun,
    Now,
    err,
    open_engine,
    out,
    parse_day,
    parse_now,
    policy,
    quiet_prefect,
)  # fmt: skip
from arrears.messaging.checks import check_policy_templates
from arrears.providers.factory import require_providers
from arrears.reports.day import DaySummary
from arrears.settings import Settings, get_settings
from arrears.store.summary import read_day_summary

Here = Annotated[
    bool,
    typer.Option(
        "--here", help="Run in this process even when the Prefect server (PREFECT_API_URL) has the daily deployment."
    ),
]


def run(as_of: AsOf = None, now: Now = None, dry_run: DryRun = False, here: Here = False) -> None:
    """Run the daily collection flow for a day, as a tagged Prefect run: through the `daily`
    deployment when PREFECT_API_URL's server has it (the worker runs it; the UI's Retry works),
    else in this process (ephemeral Prefect, or PREFECT_API_URL).

    Example: arrears run --as-of 2026-11-23 --now 2026-11-23T09:00:00+08:00
    """
    settings = get_settings()
    clock = parse_now(now)
    day = parse_day(as_of, settings) if as_of or clock is None else settings.today(clock)
    rules = policy()
    check_policy_templates(rules)  # a bad policy is told here, in one message, before any work
    # likewise a provider outside the data region, a template mismatch, missing credentials (a run that sends)
    require_providers(settings, rules, credentials=not (dry_run or settings.dry_run))
    quiet_prefect()
    engine = open_engine(settings)
    from arrears.ops import runs  # noqa: PLC0415 - Prefect is heavy: only for the commands that run flows

    if not here and runs.deployment_available():
        _run_deployment(settings, engine, day, clock, dry_run)
        return
    from flows.daily import daily_collection  # noqa: PLC0415 - Prefect is heavy: only when a flow runs

    with err.status(f"collection {day}: classifying, planning and sending under Prefect ..."), runs.tagged(settings):
        state = daily_collection(as_of=day, now=clock, dry_run=dry_run, return_state=True)
    if not state.is_completed():
        flow_run_id = str(state.state_details.flow_run_id or "")
        err.print(f"[red]collection {day} ended {state.name}[/red]: {state.message or ''}")
        if flow_run_id:
            err.print(
                f"retry this run (same id, only what is missing is done): "
                f"{runs.retry_command(flow_run_id, 'daily-collection', False)}   or: arrears run --as-of {day}",
                markup=False,
                soft_wrap=True,  # a command to paste: never wrapped
            )
        raise typer.Exit(1)
    _print_day(state.result(), dry_run)


def _print_day(summary: DaySummary, dry_run: bool) -> None:
    sms, email = summary.message_count("sms"), summary.message_count("email")
    out.print(
        f"collection {summary.as_of}: {summary.loans} loans, overdue {summary.overdue_text()}, "
        f"{summary.actions} actions for the day ({summary.new_actions} new); "
        f"messages: {sms} SMS, {email} email, {summary.sent_in_run} sent by this run"
        + (" (dry run)" if dry_run else "")
    )


def _run_deployment(settings: Settings, engine: Engine, day: date, clock: datetime | None, dry_run: bool) -> None:
    """Through the server's `daily` deployment: the worker runs it with this CLI's settings (see
    ``arrears.ops.runs``); the day's figures are read back from the database afterwards."""
    from prefect.settings import PREFECT_UI_URL  # noqa: PLC0415 - Prefect is heavy: only when a flow runs

    from arrears.ops import runs  # noqa: PLC0415 - imports Prefect: only when a flow runs

    parameters = {"as_of": day.isoformat(), "now": clock.isoformat() if clock else None, "dry_run": dry_run}
    with err.status(f"collection {day}: triggered deployment {runs.DAILY}; waiting for the worker ..."):
        flow_run = runs.trigger(settings, parameters)
    ui = PREFECT_UI_URL.value()
    link = f"{ui}/runs/flow-run/{flow_run.id}" if ui else str(flow_run.id)
    state = flow_run.state
    if state is None or not state.is_completed():
        name, message = (state.name, state.message or "") if state else ("unknown", "")
        err.print(f"[red]collection {day} ended {name}[/red]: {message}")
        err.print(
            f"flow run {flow_run.name} ({link}); retry it: Retry in the UI, or "
            f"{runs.retry_command(str(flow_run.id), 'daily-collection', True)}, or arrears run --as-of {day}",
            markup=False,
            soft_wrap=True,
        )
        raise typer.Exit(1)
    with engine.connect() as conn:
        summary = read_day_summary(conn, day)
    out.print(f"flow run {flow_run.name}: {link}", markup=False)
    _print_day(summary, dry_run)


def backfill(
    first: Annotated[str, typer.Option("--from", help="First day, YYYY-MM-DD.")],
    last: Annotated[str, typer.Option("--to", help="Last day, YYYY-MM-DD.")],
    now: Now = None,
    dry_run: DryRun = False,
) -> None:
    """Replay a range of days in order (one daily run per day, as subflows of one flow run).

    Example: arrears backfill --from 2026-11-01 --to 2026-11-23
    """
    settings = get_settings()
    start, end = parse_day(first, settings, "--from"), parse_day(last, settings, "--to")
    if end < start:
        raise typer.BadParameter(f"--to {end} is before --from {start}", param_hint="--to")
    rules = policy()
    check_policy_templates(rules)
    require_providers(settings, rules)
    quiet_prefect()
    open_engine(settings)
    from arrears.ops.runs import tagged  # noqa: PLC0415 - imports Prefect: only when a flow runs
    from flows.backfill import backfill as backfill_flow  # noqa: PLC0415 - Prefect: only when a flow runs

    with err.status(f"backfill {start}..{end} under Prefect ..."), tagged(settings):
        state = backfill_flow(first=start, last=end, now=parse_now(now), dry_run=dry_run, return_state=True)
    if not state.is_completed():
        err.print(f"[red]backfill {start}..{end} ended {state.name}[/red]: {state.message or ''}")
        raise typer.Exit(1)
    for summary in state.result():
        out.print(
            f"collection {summary.as_of}: {summary.loans} loans, overdue {summary.overdue_text()}, "
            f"{summary.actions} actions ({summary.new_actions} new), {summary.sent_in_run} sent by this run"
        )


def demo(
    loans: Annotated[int, typer.Option(help="Loans in the synthetic book.")] = 3000,
    as_of: AsOf = None,
    days: Annotated[int, typer.Option(help="Consecutive daily runs ending on --as-of.")] = 5,
) -> None:
    """Generate a synthetic book, import it through the CSV path and run several days of collection.

    Example: arrears demo --loans 3000 --days 5
    """
    from arrears.demo import run_demo  # noqa: PLC0415 - the demo runs flows: Prefect only for it

    settings = get_settings()
    quiet_prefect()
    day = parse_day(as_of, settings)
    started = time.monotonic()
    console = Console()  # the demo's sections are rules and tables for a person at a terminal
    code = run_demo(settings=settings, loans=loans, last_day=day, days=days, console=console)
    console.print(f"demo finished in {time.monotonic() - started:.0f} s")
    raise typer.Exit(code)
