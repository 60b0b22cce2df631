"""Legal cases and their tasks, and the hand-off of evidence packs to an outside firm."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from arrears.cli.common import By, OnDay, actor, day, fail, open_engine, out, transaction, wall
from arrears.money import from_cents
from arrears.settings import get_settings
from arrears.steps.legal import export_packs
from arrears.store.legal import legal_case, legal_cases, update_task
from arrears.vault import VaultUnavailable, vault_from

legal_app = typer.Typer(help="Legal cases and their tasks.", no_args_is_help=True)


@legal_app.command("list")
def legal_list(status: Annotated[str | None, typer.Option(help="open or closed.")] = None) -> None:
    """Legal cases with their next open task and its owner."""
    with transaction() as conn:
        rows = legal_cases(conn, status)
    table = Table("reference", "loan", "opened", "rule", "track", "overdue", "status", "next task")
    for r in rows:
        overdue = f"{r.currency} {from_cents(r.overdue_total)}"
        table.add_row(r.reference, r.loan_no, str(r.opened_on), r.rule, r.track, overdue, r.status, r.next_task or "")
    out.print(table)


@legal_app.command("show")
def legal_show(
    reference: Annotated[str, typer.Argument(help="Legal case reference, e.g. LC-20261123-LN00000042.")],
) -> None:
    """A legal case and its chain of tasks."""
    with transaction() as conn:
        case_, tasks = legal_case(conn, reference)
    closed = f", closed {case_.closed_on} ({case_.close_reason})" if case_.closed_on else ""
    out.print(
        f"[bold]{case_.reference}[/bold]: {case_.status}, opened {case_.opened_on} by rule {case_.rule}, "
        f"track {case_.track}" + closed
    )
    table = Table("#", "task", "owner", "due", "status", "outcome")
    for t in tasks:
        table.add_row(str(t.seq), t.kind, t.owner, str(t.due_on), t.status, t.outcome)
    out.print(table)


@legal_app.command("update")
def legal_update(
    reference: Annotated[str, typer.Argument(help="Legal case reference.")],
    task: Annotated[str, typer.Option(help="lawyers_letter, arbitration, litigation or enforcement.")],
    status: Annotated[str | None, typer.Option(help="open, in_progress, done or cancelled.")] = None,
    outcome: Annotated[str | None, typer.Option(help="What came of it.")] = None,
    owner: Annotated[str | None, typer.Option(help="Hand the task to someone else.")] = None,
    on: OnDay = None,
    by: By = None,
) -> None:
    """Move a legal task on; the case closes when every task is done or cancelled.

    Example: arrears legal update LC-20261123-LN00000042 --task lawyers_letter --status done --outcome "sent by EMS"
    """
    with transaction() as conn:
        update_task(
            conn, reference, task, status=status, outcome=outcome, owner=owner, as_of=day(on), now=wall(),
            actor=actor(by),
        )  # fmt: skip
    out.print(f"{reference} {task} updated")


@legal_app.command("export")
def legal_export(
    references: Annotated[list[str] | None, typer.Argument(help="Legal cases (default: every open one).")] = None,
    out_dir: Annotated[Path, typer.Option("--out", help="Folder to write to.")] = Path("var/legal"),
    unmasked: Annotated[
        bool, typer.Option("--unmasked", help="Real ID numbers, phones and emails (for filing a claim); audited.")
    ] = False,
    reason: Annotated[str | None, typer.Option(help="Why the real identity data leaves (with --unmasked).")] = None,
    by: By = None,
) -> None:
    """Hand-off for the legal team or an outside firm: an evidence pack per case (PDF + JSON
    sidecar: contract, schedule, payments, every contact with its outcome, the letters
    themselves with their checksums, promises, disputes) and an index of the cases as CSV and
    JSON. Every export is recorded (who, when, which cases, where, each file's SHA-256); an
    ``--unmasked`` one needs a ``--reason`` and is recorded before any file is written.

    Example: arrears legal export LC-20261123-LN00000042 --out ./handoff --unmasked --reason "claim, firm X" --by li.na
    """
    settings = get_settings()
    if unmasked and not (reason or "").strip():
        fail("--unmasked needs --reason: say why the real identity data leaves (it is recorded in the export audit)")
    try:
        vault = vault_from(settings) if unmasked else None
    except VaultUnavailable as e:
        fail(str(e))
    with transaction() as conn:
        cases = [c for c in legal_cases(conn) if (c.reference in references if references else c.status == "open")]
    if references:
        missing = set(references) - {c.reference for c in cases}
        if missing:
            fail(f"no legal case {', '.join(sorted(missing))}")
    engine = open_engine(settings)
    try:
        done = export_packs(
            engine, [c.reference for c in cases], out_dir, settings, actor=actor(by), at=wall(), vault=vault,
            reason=(reason or "").strip(),
        )  # fmt: skip
    finally:
        engine.dispose()
    for pdf, sidecar in done.packs:
        out.print(f"{pdf.resolve()}\n{sidecar.resolve()}")
    kind = "UNMASKED (real identity data) " if unmasked else ""
    out.print(f"{len(done.packs)} legal cases exported {kind}to {out_dir.resolve()}; export audit #{done.audit_id}")
