"""What the borrower says: promises to pay, disputes, hardship (repayment plans and waivers)."""

from __future__ import annotations

import csv
import sys
from datetime import date
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from arrears.cli.common import By, OnDay, actor, day, fail, out, parse_date, parse_money, policy, transaction, wall
from arrears.engine import Installment
from arrears.money import from_cents, parse_amount
from arrears.settings import get_settings
from arrears.steps.promises import import_promises, record_promise
from arrears.store.disputes import open_dispute, resolve_dispute
from arrears.store.hardship import Approval, WaiverLimits, add_repayment_plan, add_waiver
from arrears.store.loans import loan_id_of
from arrears.store.promises import NewPromise, promise_list

ptp_app = typer.Typer(help="Promises to pay.", no_args_is_help=True)
dispute_app = typer.Typer(help="Disputes: hold every contact on a loan until resolved.", no_args_is_help=True)
hardship_app = typer.Typer(help="Hardship: repayment plans and waivers.", no_args_is_help=True)


@ptp_app.command("add")
def ptp_add(
    loan: Annotated[str, typer.Argument(help="Loan number.")],
    amount: Annotated[str, typer.Option(help="Amount promised, e.g. 1500.00.")],
    on_date: Annotated[str, typer.Option("--date", help="Promised payment date, YYYY-MM-DD.")],
    made_on: OnDay = None,
    note: Annotated[str, typer.Option(help="What was said.")] = "",
    by: By = None,
) -> None:
    """Record a promise to pay. The policy reminds the borrower before the date; the day after,
    payments decide kept / partly kept / broken.

    Example: arrears ptp add LN00000042 --amount 1500.00 --date 2026-11-30
    """
    with transaction() as conn:
        told = NewPromise(
            loan_id_of(conn, loan), parse_money(amount, "--amount"), day(made_on), parse_date(on_date, "--date"),
            actor=actor(by), source="cli", note=note,
        )  # fmt: skip
        promise_id, new = record_promise(conn, told, wall())
    out.print(f"promise {promise_id} {'recorded' if new else 'was already recorded'}")


@ptp_app.command("import")
def ptp_import(
    file: Annotated[Path, typer.Argument(help="CSV: loan_no,amount,promised_on,made_on,collector,note")],
) -> None:
    """Import promises from a CSV of call outcomes. Bad rows are listed with line and reason;
    good rows go through; importing the same file again records nothing new.

    Exit status: 0 all rows imported, 3 some rows refused, 2 the file cannot be read.

    Example: arrears ptp import ./call_outcomes.csv
    """
    try:
        text = file.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as e:
        fail(f"{file}: cannot read ({e})")
    with transaction() as conn:
        try:
            result = import_promises(conn, text, file.name, str(file), wall(), get_settings().max_amount)
        except ValueError as e:
            fail(f"{file}: {e}")
    out.print(f"promises: {result.new} new, {result.seen} already recorded, {len(result.refused)} refused")
    for line in result.refused:
        print(line, file=sys.stderr)
    raise typer.Exit(3 if result.refused else 0)


@ptp_app.command("list")
def ptp_list(status: Annotated[str | None, typer.Option(help="open, kept, partly_kept, broken, ...")] = None) -> None:
    """List promises, newest first."""
    with transaction() as conn:
        rows = promise_list(conn, status)
    table = Table("id", "loan", "amount", "made", "promised", "status", "paid", "by")
    for r in rows:
        paid = "" if r.paid is None else str(from_cents(r.paid))
        table.add_row(str(r.id), r.loan_no, str(from_cents(r.amount)), str(r.made_on), str(r.promised_on), r.status,
                      paid, r.actor)  # fmt: skip
    out.print(table)


@dispute_app.command("open")
def dispute_open(
    loan: Annotated[str, typer.Argument(help="Loan number.")],
    reason: Annotated[str, typer.Option(help="What the borrower disputes.")],
    on: OnDay = None,
    by: By = None,
) -> None:
    """Open a dispute: every contact and escalation on the loan is held (suppressed with reason
    dispute_hold) until it is resolved; pending messages, letters and calls are held at once.

    Example: arrears dispute open LN00000042 --reason "says the March payment is missing"
    """
    reply_days = policy().disputes.reply_days
    with transaction() as conn:
        dispute_id = open_dispute(
            conn, loan_id_of(conn, loan), day(on), reason, reply_days, now=wall(), actor=actor(by), source="cli"
        )
    out.print(f"dispute {dispute_id} open on {loan}: contacts held until it is resolved")


@dispute_app.command("resolve")
def dispute_resolve(
    loan: Annotated[str, typer.Argument(help="Loan number.")],
    outcome: Annotated[str, typer.Option(help="upheld (the borrower was right) or rejected.")],
    note: Annotated[str, typer.Option(help="The answer given.")] = "",
    on: OnDay = None,
    by: By = None,
) -> None:
    """Resolve the loan's open dispute; contacts resume on the next run.

    Example: arrears dispute resolve LN00000042 --outcome rejected --note "payment found on another loan"
    """
    with transaction() as conn:
        resolve_dispute(conn, loan_id_of(conn, loan), outcome, day(on), note, now=wall(), actor=actor(by), source="cli")
    out.print(f"dispute on {loan} resolved: {outcome}")


SCHEDULE_COLUMNS = "seq,due_date,principal_due,interest_due,fee_due"


def _schedule(path: Path) -> list[Installment]:
    try:
        rows = list(csv.DictReader(path.read_text(encoding="utf-8-sig").splitlines()))
        ceiling = get_settings().max_amount
        return [
            Installment(
                date.fromisoformat(r["due_date"]), int(r["seq"]), parse_amount(r["principal_due"], ceiling),
                parse_amount(r["interest_due"], ceiling), parse_amount(r.get("fee_due") or "0", ceiling),
            )
            for r in rows
        ]  # fmt: skip
    except OSError as e:
        fail(f"{path}: cannot read ({e.strerror})")
    except (KeyError, ValueError, TypeError) as e:
        fail(f"{path}: bad schedule ({e!r}); columns: {SCHEDULE_COLUMNS}")


@hardship_app.command("plan")
def hardship_plan(
    loan: Annotated[str, typer.Argument(help="Loan number.")],
    effective: Annotated[str, typer.Option(help="Day the plan replaces the schedule, YYYY-MM-DD.")],
    schedule: Annotated[Path, typer.Option(help=f"CSV: {SCHEDULE_COLUMNS}")],
    approver: Annotated[str, typer.Option(help="Who approved it.")],
    reason: Annotated[str, typer.Option(help="Why.")],
) -> None:
    """Replace the loan's remaining schedule with a repayment plan from a date.

    Example: arrears hardship plan LN00000042 --effective 2026-12-01 --schedule plan.csv
             --approver li.na --reason "job loss"
    """
    installments = _schedule(schedule)
    with transaction() as conn:
        on, approval = parse_date(effective, "--effective"), Approval(approver, reason, "cli")
        hid = add_repayment_plan(conn, loan_id_of(conn, loan), on, installments, approval=approval, now=wall())
    out.print(f"repayment plan {hid} on {loan} from {effective}: {len(installments)} installments")


@hardship_app.command("waive")
def hardship_waive(
    loan: Annotated[str, typer.Argument(help="Loan number.")],
    effective: Annotated[str, typer.Option(help="Day the waiver applies, YYYY-MM-DD.")],
    approver: Annotated[str, typer.Option(help="Who approved it.")],
    reason: Annotated[str, typer.Option(help="Why.")],
    penalty: Annotated[str, typer.Option(help="Penalty interest waived, at most.")] = "0",
    interest: Annotated[str, typer.Option(help="Interest waived, at most.")] = "0",
    fees: Annotated[str, typer.Option(help="Fees waived, at most.")] = "0",
) -> None:
    """Waive accrued penalty interest, interest or fees up to approved amounts.

    Example: arrears hardship waive LN00000042 --effective 2026-11-23 --penalty 120.50
             --approver li.na --reason "hospital"
    """
    limits = WaiverLimits(
        parse_money(penalty, "--penalty"), parse_money(interest, "--interest"), parse_money(fees, "--fees")
    )
    with transaction() as conn:
        on, approval = parse_date(effective, "--effective"), Approval(approver, reason, "cli")
        hid = add_waiver(conn, loan_id_of(conn, loan), on, limits, approval=approval, now=wall())
    out.print(f"waiver {hid} on {loan} from {effective}")
