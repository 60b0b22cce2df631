"""The contact rules: why a loan was (not) contacted, stop flags, and finding a borrower."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from zoneinfo import ZoneInfo

import typer
from rich.table import Table

from arrears.cli.common import By, OnDay, actor, day, fail, out, transaction, wall
from arrears.privacy import mask_name
from arrears.settings import get_settings
from arrears.store.borrowers import borrower_known, borrowers_by_id_hash
from arrears.store.guard import clear_flag, contacts_of_loan, decisions_for, open_flags, set_flag
from arrears.store.loans import loan_with_borrower
from arrears.vault import vault_from
from models.guard import FLAGS

flag_app = typer.Typer(help="Stop flags: cease contact, bankruptcy, deceased, legal representation, opt-outs.",
                       no_args_is_help=True)  # fmt: skip
borrower_app = typer.Typer(help="Borrowers (personal data always masked).", no_args_is_help=True)
WHY_COLUMNS = ("channel", "action", "to", "phase", "decision", "rule", "why", "when", "status")


def _local(moment: datetime | None, zone: str) -> str:
    if moment is None:
        return ""
    return moment.astimezone(ZoneInfo(zone)).strftime("%Y-%m-%d %H:%M %Z")


def why(
    loan: Annotated[str, typer.Argument(help="Loan number.")],
    as_of: Annotated[str | None, typer.Option("--as-of", help="Business day (default: today).")] = None,
) -> None:
    """Each contact planned on that day for the loan, with the guard's decision and the rule and
    values behind it (plan time and, for messages, send time).

    Example: arrears why LN000123 --as-of 2026-11-23
    """
    on = day(as_of)
    with transaction() as conn:
        found = loan_with_borrower(conn, loan)
        if found is None:
            fail(f"no loan {loan!r}")
        actions = contacts_of_loan(conn, found.loan_id, loan, on)
        decisions: dict[str, list[Any]] = {}
        for d in decisions_for(conn, [a.key for a in actions]) if actions else []:
            decisions.setdefault(d.key, []).append(d)
    if not actions:
        out.print(f"{loan}: no contact planned on {on}")
        return
    table = Table(*WHY_COLUMNS, title=f"{loan} on {on}: contacts and the guard's decisions (times in {found.timezone})")
    for a in actions:
        rows = decisions.get(a.key) or []
        if not rows:
            table.add_row(a.channel, a.action, a.audience, "", a.status, a.reason or "", "not decided yet", "", "")
        for i, d in enumerate(rows):
            last = i == len(rows) - 1
            table.add_row(
                a.channel, a.action, a.audience, d.phase, d.verdict, d.rule, d.detail, _local(d.at, found.timezone),
                (a.message or a.status) if last else "",
            )  # fmt: skip
    out.print(table)


@flag_app.command("set")
def flag_set(
    borrower: Annotated[str, typer.Argument(help="Borrower id.")],
    flag: Annotated[str, typer.Argument(help=", ".join(FLAGS))],
    note: Annotated[str, typer.Option(help="E.g. the lawyer to contact instead.")] = "",
    on: OnDay = None,
    by: By = None,
) -> None:
    """Stop contact: every channel (or one, for opt_out_*) is suppressed from the next decision on;
    what is already queued is suppressed at send time.

    Example: arrears flag set B0042 legal_representation --note "王律师, 明理律师事务所"
    """
    if flag not in FLAGS:
        fail(f"flag must be one of {', '.join(FLAGS)}, not {flag!r}")
    with transaction() as conn:
        if not borrower_known(conn, borrower):
            fail(f"no borrower {borrower!r}")
        new = set_flag(conn, borrower, flag, note, day(on), wall(), actor(by))
    out.print(f"{borrower}: {flag} {'set' if new else 'was already set'}")


@flag_app.command("clear")
def flag_clear(borrower: Annotated[str, typer.Argument()], flag: Annotated[str, typer.Argument()]) -> None:
    """Lift a stop flag. Example: arrears flag clear B0042 cease_contact"""
    with transaction() as conn:
        cleared = clear_flag(conn, borrower, flag, wall())
    if not cleared:
        fail(f"{borrower} has no open {flag} flag")
    out.print(f"{borrower}: {flag} cleared")


@flag_app.command("list")
def flag_list(borrower: Annotated[str, typer.Argument()]) -> None:
    """Open stop flags of a borrower. Example: arrears flag list B0042"""
    with transaction() as conn:
        rows = open_flags(conn, borrower)
    if not rows:
        out.print(f"{borrower}: no open flags")
    for r in rows:
        out.print(f"{borrower}: {r.flag} since {r.set_on} by {r.actor or '?'}" + (f" ({r.note})" if r.note else ""))


@borrower_app.command("find")
def borrower_find(
    id_number: Annotated[str, typer.Option("--id-number", help="The full ID number to look up.")],
) -> None:
    """Find a borrower by ID number through its keyed hash (the number is never stored in clear
    nor printed). Example: arrears borrower find --id-number 110101199003071234
    """
    digest = vault_from(get_settings()).lookup_hash(id_number)
    with transaction() as conn:
        rows = borrowers_by_id_hash(conn, digest)
    if not rows:
        fail("no borrower with that ID number", code=1)
    for r in rows:
        out.print(f"{r.borrower_id}  {mask_name(r.name)}  {r.id_number}")
