"""The loan book: the schema, the CSV import, and each loan's position on a day."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from arrears.book.reader import BookFileError
from arrears.cli.common import AsOf, err, open_engine, out, parse_day, policy
from arrears.db import current_revision
from arrears.settings import get_settings
from arrears.steps.classify import loan_positions
from arrears.steps.importing import import_book
from arrears.vault import VaultUnavailable

db_app = typer.Typer(help="Database schema.", no_args_is_help=True)


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Bring the schema to the latest migration.

    Example: arrears db upgrade
    """
    out.print(f"schema at revision {current_revision(open_engine())}")


def import_(directory: Annotated[Path, typer.Argument(help="Folder with borrowers.csv, loans.csv, ...")]) -> None:
    """Import the loan book CSVs; bad rows are quarantined, good rows go through.

    Exit status: 0 all rows imported, 3 some rows quarantined, 2 a file cannot be read.

    Example: arrears import ./book
    """
    engine = open_engine()
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


LOAN_COLUMNS = ("loan_no", "borrower_id", "dpd", "stage", "risk", "principal", "interest", "penalty", "fees", "total")


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
    settings = get_settings()
    day = parse_day(as_of, settings)
    rows, stored = loan_positions(
        engine=open_engine(settings), policy=policy(), batch_size=settings.batch_size, as_of=day, stage=stage,
        limit=limit,
    )  # fmt: skip
    if not stored:
        err.print(f"no run stored for {day}: positions computed on the fly")
    if as_json:
        sys.stdout.write(json.dumps(rows, ensure_ascii=False, indent=1) + "\n")
        return
    table = Table(title=f"loans on {day}")
    for col in LOAN_COLUMNS:
        table.add_column(col, justify="right" if col not in ("loan_no", "borrower_id", "stage", "risk") else "left")
    for r in rows:
        o = r["overdue"]
        table.add_row(r["loan_no"], r["borrower_id"], str(r["dpd"]), r["stage"], r["risk"],
                      o["principal"], o["interest"], o["penalty"], o["fees"], o["total"])  # fmt: skip
    out.print(table)
