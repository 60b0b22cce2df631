"""Collector call queues: the day's calls with talking points, and a call's outcome."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from arrears.cases.talking_points import talking_points
from arrears.cli.common import By, OnDay, actor, day, fail, out, parse_date, parse_money, policy, transaction, wall
from arrears.money import from_cents
from arrears.privacy import mask_name, mask_phone
from arrears.steps.promises import record_promise
from arrears.store.calls import call_list, log_call
from arrears.store.disputes import open_dispute
from arrears.store.promises import NewPromise

calls_app = typer.Typer(help="Collector call queues.", invoke_without_command=True)
QUEUE_COLUMNS = ("task", "collector", "#", "loan", "borrower", "phone", "stage", "risk", "DPD", "overdue", "status",
                 "talking points")  # fmt: skip


@calls_app.callback()
def calls(
    ctx: typer.Context,
    as_of: Annotated[str | None, typer.Option("--as-of", help="Day (default: today).")] = None,
    collector: Annotated[str | None, typer.Option(help="Only this collector's queue.")] = None,
) -> None:
    """The day's call queues, per collector, in order, with talking points.

    Examples: arrears calls --as-of 2026-11-23 --collector collector-1
              arrears calls log 17 --outcome ptp --amount 800 --date 2026-11-28
    """
    if ctx.invoked_subcommand is not None:
        return
    on = day(as_of)
    with transaction() as conn:
        rows = call_list(conn, on, collector)
    if not rows:
        out.print(f"no call tasks on {on}" + (f" for {collector}" if collector else ""))
        return
    table = Table(*QUEUE_COLUMNS, title=f"calls {on}")
    for r in rows:
        overdue = from_cents(r.overdue_total)
        table.add_row(
            str(r.id), r.collector, str(r.rank), r.loan_no, mask_name(r.name), mask_phone(r.phone), r.stage, r.risk,
            str(r.dpd), f"{r.currency} {overdue}", r.status + (f" ({r.outcome})" if r.outcome else ""),
            talking_points(r.template, r.locale, r.dpd, overdue, r.currency),
        )  # fmt: skip
    out.print(table)


@calls_app.command("log")
def calls_log(
    task: Annotated[int, typer.Argument(help="Call task id (from `arrears calls`).")],
    outcome: Annotated[str, typer.Option(help="reached, no_answer, wrong_number, ptp, dispute or refused.")],
    note: Annotated[str, typer.Option(help="What was said.")] = "",
    amount: Annotated[str | None, typer.Option(help="ptp: amount promised.")] = None,
    on_date: Annotated[str | None, typer.Option("--date", help="ptp: promised date.")] = None,
    reason: Annotated[str | None, typer.Option(help="dispute: what the borrower disputes.")] = None,
    on: OnDay = None,
    by: By = None,
) -> None:
    """Record a call's outcome; a promise or a dispute from the call is recorded on the loan."""
    if outcome == "ptp" and (amount is None or on_date is None):
        fail("--outcome ptp needs --amount and --date")
    if outcome == "dispute" and not reason:
        fail("--outcome dispute needs --reason")
    when = day(on)
    with transaction() as conn:
        row = log_call(conn, task, outcome, note, now=wall(), actor=by)
        who = actor(by) if by else row.collector
        if outcome == "ptp":
            told = NewPromise(
                row.loan_id, parse_money(amount or "", "--amount"), when, parse_date(on_date or "", "--date"),
                actor=who, source=f"call:{task}", note=note,
            )  # fmt: skip
            record_promise(conn, told, wall())
        if outcome == "dispute":
            open_dispute(
                conn, row.loan_id, when, reason or "", policy().disputes.reply_days, now=wall(), actor=who,
                source=f"call:{task}",
            )  # fmt: skip
    out.print(f"call {task}: {outcome} recorded")
