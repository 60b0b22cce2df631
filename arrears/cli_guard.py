"""CLI commands of the guard and of personal data: why, flags, keys, borrower look-up, retention.
Registered on the main app in ``arrears.cli``."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any
from zoneinfo import ZoneInfo

import typer
from rich.table import Table
from sqlalchemy import text

from arrears.cli_cases import By, OnDay, _actor, _day, _fail, _tx, out
from arrears.privacy import mask_name
from arrears.settings import get_settings
from models.guard import FLAGS

flag_app = typer.Typer(help="Stop flags: cease contact, bankruptcy, deceased, legal representation, opt-outs.",
                       no_args_is_help=True)  # fmt: skip
keys_app = typer.Typer(help="Keys of the encrypted ID numbers.", no_args_is_help=True)
borrower_app = typer.Typer(help="Borrowers (personal data always masked).", no_args_is_help=True)


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
    from arrears.store.guard import decisions_for

    day = _day(as_of)
    with _tx() as conn:
        found = conn.execute(text("SELECT l.id, b.timezone FROM loan l JOIN borrower b ON b.borrower_id = l.borrower_id"
                                  " WHERE l.loan_no = :n"), {"n": loan}).first()  # fmt: skip
        if found is None:
            _fail(f"no loan {loan!r}")
        actions = conn.execute(
            text(
                "SELECT a.key, a.channel, a.action, a.audience, a.status, a.reason, a.loan_nos, o.status AS message"
                " FROM collection_action a LEFT JOIN outbox_message o ON o.key = a.key"
                " WHERE a.as_of = :d AND (a.loan_id = :l OR a.loan_nos LIKE :like) AND a.channel <> 'legal'"
                " ORDER BY a.channel, a.action"
            ),
            {"d": day, "l": found.id, "like": f"%{loan}%"},
        ).all()
        actions = [a for a in actions if loan in a.loan_nos.split(",")]
        decisions: dict[str, list[Any]] = {}
        for d in decisions_for(conn, [a.key for a in actions]) if actions else []:
            decisions.setdefault(d.key, []).append(d)
    if not actions:
        out.print(f"{loan}: no contact planned on {day}")
        return
    table = Table(title=f"{loan} on {day}: contacts and the guard's decisions (times in {found.timezone})")
    for col in ("channel", "action", "to", "phase", "decision", "rule", "why", "when", "status"):
        table.add_column(col)
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
        _fail(f"flag must be one of {', '.join(FLAGS)}, not {flag!r}")
    from arrears.store.guard import set_flag

    with _tx() as conn:
        _known(conn, borrower)
        new = set_flag(conn, borrower, flag, note, _day(on), datetime.now(UTC), _actor(by))
    out.print(f"{borrower}: {flag} {'set' if new else 'was already set'}")


@flag_app.command("clear")
def flag_clear(borrower: Annotated[str, typer.Argument()], flag: Annotated[str, typer.Argument()]) -> None:
    """Lift a stop flag. Example: arrears flag clear B0042 cease_contact"""
    from arrears.store.guard import clear_flag

    with _tx() as conn:
        cleared = clear_flag(conn, borrower, flag, datetime.now(UTC))
    if not cleared:
        _fail(f"{borrower} has no open {flag} flag")
    out.print(f"{borrower}: {flag} cleared")


@flag_app.command("list")
def flag_list(borrower: Annotated[str, typer.Argument()]) -> None:
    """Open stop flags of a borrower. Example: arrears flag list B0042"""
    from arrears.store.guard import open_flags

    with _tx() as conn:
        rows = open_flags(conn, borrower)
    if not rows:
        out.print(f"{borrower}: no open flags")
    for r in rows:
        out.print(f"{borrower}: {r.flag} since {r.set_on} by {r.actor or '?'}" + (f" ({r.note})" if r.note else ""))


def _known(conn: Any, borrower: str) -> None:
    if conn.execute(text("SELECT 1 FROM borrower WHERE borrower_id = :b"), {"b": borrower}).first() is None:
        _fail(f"no borrower {borrower!r}")


@keys_app.command("new")
def keys_new() -> None:
    """Print a new random key (for ARREARS_DATA_KEYS or ARREARS_LOOKUP_KEY, or a Secret block)."""
    from arrears.vault import new_key

    print(new_key())


@keys_app.command("rotate")
def keys_rotate() -> None:
    """Re-encrypt every stored ID number with the first key of ARREARS_DATA_KEYS.

    Rotation: put the new key first (ARREARS_DATA_KEYS=new,old), run this, then drop the old one.
    """
    from arrears.vault import vault_from

    vault = vault_from(get_settings())
    with _tx() as conn:
        rows = conn.execute(
            text("SELECT borrower_id, id_number_enc FROM borrower WHERE id_number_enc IS NOT NULL")
        ).all()
        for r in rows:
            conn.execute(
                text("UPDATE borrower SET id_number_enc = :e WHERE borrower_id = :b"),
                {"e": vault.rotate(r.id_number_enc), "b": r.borrower_id},
            )
    out.print(f"{len(rows)} ID numbers re-encrypted with the newest key")


@borrower_app.command("find")
def borrower_find(
    id_number: Annotated[str, typer.Option("--id-number", help="The full ID number to look up.")],
) -> None:
    """Find a borrower by ID number through its keyed hash (the number is never stored in clear
    nor printed). Example: arrears borrower find --id-number 110101199003071234
    """
    from arrears.vault import vault_from

    digest = vault_from(get_settings()).lookup_hash(id_number)
    with _tx() as conn:
        rows = conn.execute(
            text("SELECT borrower_id, name, id_number FROM borrower WHERE id_number_hash = :h"), {"h": digest}
        ).all()
    if not rows:
        _fail("no borrower with that ID number", code=1)
    for r in rows:
        out.print(f"{r.borrower_id}  {mask_name(r.name)}  {r.id_number}")


def retention(
    as_of: Annotated[str | None, typer.Option("--as-of", help="Business day (default: today).")] = None,
    apply: Annotated[bool, typer.Option("--apply", help="Anonymise (default: only list who qualifies).")] = False,
) -> None:
    """Anonymise personal data of borrowers whose cases closed, and loans ended, longer ago than the
    policy's retention.days; amounts, dates and statuses stay for the reports.

    Example: arrears retention --as-of 2031-12-31 --apply
    """
    from arrears.policy import load_policy
    from arrears.store.retention import apply_retention, due_for_retention

    settings = get_settings()
    days = load_policy(settings.policy_path).retention.days
    day = _day(as_of)
    with _tx() as conn:
        if apply:
            report = apply_retention(conn, day, days, settings.resolved_letters_dir, datetime.now(UTC))
            cutoff, ids = report.cutoff, report.borrowers
        else:
            cutoff, ids = due_for_retention(conn, day, days)
    verb = "anonymised" if apply else "would be anonymised (add --apply)"
    out.print(f"{len(ids)} borrowers with cases closed before {cutoff} {verb}")
    for b in ids[:20]:
        out.print(f"  {b}")
    if len(ids) > 20:
        out.print(f"  ... and {len(ids) - 20} more")
