"""A loan's collection case: its timeline, what the policy plans next, notes, closing by hand."""

from __future__ import annotations

from datetime import UTC, date
from typing import Annotated, Any

import typer
from rich.table import Table

from arrears.cli.common import By, actor, day, fail, out, policy, transaction, wall
from arrears.steps.cases import case_view
from arrears.store import cases as store
from arrears.store.loans import loan_id_of

CLOSE_REASONS = ("settled", "written_off")


def case(
    loan: Annotated[str, typer.Argument(help="Loan number.")],
    as_of: Annotated[str | None, typer.Option("--as-of", help="Day to look from (default: today).")] = None,
    note: Annotated[str | None, typer.Option(help="Append a note to the case timeline.")] = None,
    close: Annotated[
        str | None, typer.Option(help="Close the open case: settled or written_off (cure closes by itself).")
    ] = None,
    by: By = None,
) -> None:
    """Show a loan's collection case: its timeline and what the policy plans next.

    Examples: arrears case LN00000042 --as-of 2026-11-23
              arrears case LN00000042 --note "borrower in hospital, call next week"
              arrears case LN00000042 --close settled
    """
    on = day(as_of)
    with transaction() as conn:
        loan_id = loan_id_of(conn, loan)
        if note:
            now = wall()
            store.add_event(
                conn, key=f"note:{loan_id}:{now.isoformat()}", loan_id=loan_id, as_of=on, at=now, kind="note",
                actor=actor(by), source="cli", detail=note,
            )  # fmt: skip
        if close:
            if close not in CLOSE_REASONS:
                fail("--close must be settled or written_off")
            if store.open_case(conn, loan_id) is None:
                fail(f"{loan} has no open case")
            store.close_cases(conn, [loan_id], on, wall(), close, f"closed as {close}", actor=actor(by), source="cli")
    with transaction() as conn:
        _show_case(conn, loan, loan_id, on)


def _show_case(conn: Any, loan: str, loan_id: int, on: date) -> None:
    view = case_view(conn, policy(), loan_id, on)
    if not view.cases:
        out.print(f"{loan}: no collection case (never delinquent in a run)")
    for c in view.cases:
        closed = f", closed {c.closed_on} ({c.close_reason})" if c.status == "closed" else ""
        out.print(
            f"[bold]{loan}[/bold] case {c.id}: {c.status}, opened {c.opened_on} in {c.opened_stage}, "
            f"stage {c.stage}{closed}"
        )
    table = Table("day", "time (UTC)", "what", "by", "source", "detail", title="timeline")
    for e in view.timeline:
        at = e.at.astimezone(UTC).strftime("%H:%M:%S") if e.at else ""
        table.add_row(str(e.day), at, e.kind, e.actor, e.source, e.detail)
    out.print(table)
    if view.upcoming is None:
        return
    plan = Table("day", "stage", "DPD", "planned", "held", title="next, if nothing is paid")
    for u in view.upcoming:
        plan.add_row(str(u.day), u.stage, str(u.dpd), u.what, u.held or "")
    out.print(plan if view.upcoming else "next: nothing planned in the coming 30 days")
