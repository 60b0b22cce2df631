"""Running the daily flow: one day, a range of days, the demo."""

from __future__ import annotations

import time
from typing import Annotated

import typer
from rich.console import Console

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
from arrears.settings import get_settings


def run(as_of: AsOf = None, now: Now = None, dry_run: DryRun = False) -> None:
    """Run the daily collection flow for a day (under Prefect: ephemeral, or PREFECT_API_URL).

    Example: arrears run --as-of 2026-11-23 --now 2026-11-23T09:00:00+08:00
    """
    settings = get_settings()
    clock = parse_now(now)
    day = parse_day(as_of, settings) if as_of or clock is None else settings.today(clock)
    check_policy_templates(policy())  # a bad policy is told here, in one message, before any work
    quiet_prefect()
    open_engine(settings)
    from flows.daily import daily_collection  # noqa: PLC0415 - Prefect is heavy: only for the commands that run flows

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
    check_policy_templates(policy())
    quiet_prefect()
    open_engine(settings)
    from flows.backfill import backfill as backfill_flow  # noqa: PLC0415 - Prefect: only when a flow runs

    with err.status(f"backfill {start}..{end} under Prefect ..."):
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
