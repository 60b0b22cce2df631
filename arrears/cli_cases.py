"""CLI commands for cases, promises, disputes, hardship, call queues and legal work.
Registered on the main app in ``arrears.cli``. Each command is one transaction."""

from __future__ import annotations

import csv
import getpass
import json
import sys
from contextlib import contextmanager
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy import text

from arrears.settings import get_settings


class _Out:
    """Rich output; when not on a terminal (a pipe, a log, a test) wide enough not to fold
    loan numbers and references, so the output stays greppable."""

    def print(self, *objects: Any) -> None:
        width = None if sys.stdout.isatty() else 220
        Console(width=width).print(*objects)


out = _Out()

ptp_app = typer.Typer(help="Promises to pay.", no_args_is_help=True)
dispute_app = typer.Typer(help="Disputes: hold every contact on a loan until resolved.", no_args_is_help=True)
hardship_app = typer.Typer(help="Hardship: repayment plans and waivers.", no_args_is_help=True)
calls_app = typer.Typer(help="Collector call queues.", invoke_without_command=True)
legal_app = typer.Typer(help="Legal cases and their tasks.", no_args_is_help=True)

By = Annotated[str | None, typer.Option("--by", help="Who records this (default: the OS user).")]
OnDay = Annotated[str | None, typer.Option("--on", help="Business day, YYYY-MM-DD (default: today).")]


def _fail(message: str, code: int = 2) -> None:
    print(f"error: {message}", file=sys.stderr)
    raise typer.Exit(code)


def _date(value: str, option: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(f"{value!r} is not a date (YYYY-MM-DD)", param_hint=option) from None


def _money(value: str, option: str) -> Decimal:
    try:
        amount = Decimal(value)
    except InvalidOperation:
        raise typer.BadParameter(f"{value!r} is not an amount", param_hint=option) from None
    if not amount.is_finite() or amount != amount.quantize(Decimal("0.01")):
        raise typer.BadParameter(f"{value!r} is not an amount in cents", param_hint=option)
    return amount


def _day(value: str | None) -> date:
    from arrears.cli import _as_of

    return _as_of(value, get_settings())


def _actor(by: str | None) -> str:
    return by or getpass.getuser()


@contextmanager
def _tx() -> Any:
    """One transaction; a known refusal prints its reason and exits 2."""
    from arrears.cases.promises import PromiseError
    from arrears.cli import _engine
    from arrears.store.borrower_says import DisputeError, HardshipError, UnknownLoan
    from arrears.store.calls import CallError
    from arrears.store.legal import LegalError

    engine = _engine(get_settings())
    try:
        with engine.begin() as conn:
            yield conn
    except (PromiseError, DisputeError, HardshipError, UnknownLoan, CallError, LegalError) as err:
        _fail(str(err))
    finally:
        engine.dispose()


def _now() -> datetime:
    return datetime.now(UTC)


# --- case --------------------------------------------------------------------------------


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
    from arrears.store import cases as cs
    from arrears.store.borrower_says import loan_id_of

    day = _day(as_of)
    with _tx() as conn:
        loan_id = loan_id_of(conn, loan)
        if note:
            cs.add_event(
                conn,
                key=f"note:{loan_id}:{_now().isoformat()}",
                loan_id=loan_id,
                as_of=day,
                at=_now(),
                kind="note",
                actor=_actor(by),
                source="cli",
                detail=note,
            )
        if close:
            if close not in ("settled", "written_off"):
                _fail("--close must be settled or written_off")
            if cs.open_case(conn, loan_id) is None:
                _fail(f"{loan} has no open case")
            cs.close_cases(conn, [loan_id], day, _now(), close, f"closed as {close}", actor=_actor(by), source="cli")
    with _tx() as conn:
        _show_case(conn, loan, loan_id, day)


def _show_case(conn: Any, loan: str, loan_id: int, day: date) -> None:
    from arrears.cases.outlook import outlook
    from arrears.planning import PromiseView
    from arrears.policy import load_policy
    from arrears.store import cases as cs
    from arrears.store.book import read_books
    from arrears.store.borrower_says import broken_promise_counts, disputed_loans, open_promises

    policy = load_policy(get_settings().policy_path)
    cases = cs.cases_of(conn, loan_id)
    if not cases:
        out.print(f"{loan}: no collection case (never delinquent in a run)")
    for c in cases:
        closed = f", closed {c.closed_on} ({c.close_reason})" if c.status == "closed" else ""
        out.print(
            f"[bold]{loan}[/bold] case {c.id}: {c.status}, opened {c.opened_on} in {c.opened_stage}, "
            f"stage {c.stage}{closed}"
        )
    table = Table("day", "time (UTC)", "what", "by", "source", "detail", title="timeline")
    for e in cs.timeline(conn, loan_id):
        table.add_row(
            str(e.day), e.at.astimezone(UTC).strftime("%H:%M:%S") if e.at else "", e.kind, e.actor, e.source, e.detail
        )
    out.print(table)
    books = read_books(conn, loan_id, loan_id, day)
    if not books:
        return
    book = books[0]
    borrower = book.borrower_id
    promise = open_promises(conn, day, borrower, borrower).get(loan_id)
    escalated = conn.execute(
        text("SELECT 1 FROM legal_case WHERE loan_id = :l AND status = 'open'"), {"l": loan_id}
    ).first()
    upcoming = outlook(
        book,
        policy,
        day,
        broken_promises=broken_promise_counts(
            conn, loan_id, loan_id, day, policy.promises.partial_counts_as_broken
        ).get(loan_id, 0),
        disputed=loan_id in disputed_loans(conn, day, borrower, borrower),
        promise=PromiseView(promise.loan_id, promise.made_on, promise.promised_on) if promise else None,
        escalated=bool(escalated),
    )
    plan = Table("day", "stage", "DPD", "planned", "held", title="next, if nothing is paid")
    for u in upcoming:
        plan.add_row(str(u.day), u.stage, str(u.dpd), u.what, u.held or "")
    out.print(plan if upcoming else "next: nothing planned in the coming 30 days")


# --- promises ----------------------------------------------------------------------------


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
    from arrears.store.borrower_says import add_promise, loan_id_of

    with _tx() as conn:
        promise_id, new = add_promise(
            conn,
            loan_id_of(conn, loan),
            _money(amount, "--amount"),
            _day(made_on),
            _date(on_date, "--date"),
            now=_now(),
            actor=_actor(by),
            source="cli",
            note=note,
        )
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
    from arrears.cases.promises import PromiseError
    from arrears.store.borrower_says import UnknownLoan, add_promise, loan_id_of

    try:
        text_ = file.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as err:
        _fail(f"{file}: cannot read ({err})")
    reader = csv.DictReader(text_.splitlines())
    needed = {"loan_no", "amount", "promised_on", "made_on"}
    if not needed <= set(reader.fieldnames or ()):
        _fail(f"{file}: header must include {', '.join(sorted(needed))}")
    new = seen = 0
    bad: list[str] = []
    with _tx() as conn:
        for line, row in enumerate(reader, start=2):
            try:
                amount = Decimal(row["amount"])
                promised_on, made = date.fromisoformat(row["promised_on"]), date.fromisoformat(row["made_on"])
                with conn.begin_nested():
                    _, is_new = add_promise(
                        conn,
                        loan_id_of(conn, row["loan_no"].strip()),
                        amount,
                        made,
                        promised_on,
                        now=_now(),
                        actor=(row.get("collector") or "").strip() or "import",
                        source=f"import:{file.name}",
                        note=(row.get("note") or "").strip(),
                    )
                new += is_new
                seen += not is_new
            except (InvalidOperation, ValueError, PromiseError, UnknownLoan) as err:
                bad.append(f"{file}:{line}: {err}")
    out.print(f"promises: {new} new, {seen} already recorded, {len(bad)} refused")
    for b in bad:
        print(b, file=sys.stderr)
    raise typer.Exit(3 if bad else 0)


@ptp_app.command("list")
def ptp_list(status: Annotated[str | None, typer.Option(help="open, kept, partly_kept, broken, ...")] = None) -> None:
    """List promises, newest first."""
    with _tx() as conn:
        q = (
            "SELECT p.id, l.loan_no, p.amount, p.made_on, p.promised_on, p.status, p.paid, p.actor FROM promise p"
            " JOIN loan l ON l.id = p.loan_id"
        )
        rows = conn.execute(
            text(q + (" WHERE p.status = :s" if status else "") + " ORDER BY p.id DESC"), {"s": status}
        ).all()
    table = Table("id", "loan", "amount", "made", "promised", "status", "paid", "by")
    from arrears.money import from_cents

    for r in rows:
        table.add_row(
            str(r.id),
            r.loan_no,
            str(from_cents(r.amount)),
            str(r.made_on),
            str(r.promised_on),
            r.status,
            "" if r.paid is None else str(from_cents(r.paid)),
            r.actor,
        )
    out.print(table)


# --- disputes ----------------------------------------------------------------------------


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
    from arrears.policy import load_policy
    from arrears.store.borrower_says import loan_id_of, open_dispute

    reply_days = load_policy(get_settings().policy_path).disputes.reply_days
    with _tx() as conn:
        dispute_id = open_dispute(
            conn, loan_id_of(conn, loan), _day(on), reason, reply_days, now=_now(), actor=_actor(by), source="cli"
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
    from arrears.store.borrower_says import loan_id_of, resolve_dispute

    with _tx() as conn:
        resolve_dispute(
            conn, loan_id_of(conn, loan), outcome, _day(on), note, now=_now(), actor=_actor(by), source="cli"
        )
    out.print(f"dispute on {loan} resolved: {outcome}")


# --- hardship ----------------------------------------------------------------------------


@hardship_app.command("plan")
def hardship_plan(
    loan: Annotated[str, typer.Argument(help="Loan number.")],
    effective: Annotated[str, typer.Option(help="Day the plan replaces the schedule, YYYY-MM-DD.")],
    schedule: Annotated[Path, typer.Option(help="CSV: seq,due_date,principal_due,interest_due,fee_due")],
    approver: Annotated[str, typer.Option(help="Who approved it.")],
    reason: Annotated[str, typer.Option(help="Why.")],
) -> None:
    """Replace the loan's remaining schedule with a repayment plan from a date.

    Example: arrears hardship plan LN00000042 --effective 2026-12-01 --schedule plan.csv
             --approver li.na --reason "job loss"
    """
    from arrears.engine import Installment
    from arrears.store.borrower_says import add_repayment_plan, loan_id_of

    try:
        rows = list(csv.DictReader(schedule.read_text(encoding="utf-8-sig").splitlines()))
        installments = [
            Installment(
                date.fromisoformat(r["due_date"]),
                int(r["seq"]),
                Decimal(r["principal_due"]),
                Decimal(r["interest_due"]),
                Decimal(r.get("fee_due") or "0"),
            )
            for r in rows
        ]
    except OSError as err:
        _fail(f"{schedule}: cannot read ({err.strerror})")
    except (KeyError, ValueError, InvalidOperation) as err:
        _fail(f"{schedule}: bad schedule ({err!r}); columns: seq,due_date,principal_due,interest_due,fee_due")
    with _tx() as conn:
        hid = add_repayment_plan(
            conn,
            loan_id_of(conn, loan),
            _date(effective, "--effective"),
            installments,
            approver=approver,
            reason=reason,
            now=_now(),
            source="cli",
        )
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
    from arrears.store.borrower_says import WaiverLimits, add_waiver, loan_id_of

    limits = WaiverLimits(_money(penalty, "--penalty"), _money(interest, "--interest"), _money(fees, "--fees"))
    with _tx() as conn:
        hid = add_waiver(
            conn,
            loan_id_of(conn, loan),
            _date(effective, "--effective"),
            limits,
            approver=approver,
            reason=reason,
            now=_now(),
            source="cli",
        )
    out.print(f"waiver {hid} on {loan} from {effective}")


# --- calls -------------------------------------------------------------------------------


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
    from arrears.cases.talking_points import talking_points
    from arrears.money import from_cents
    from arrears.privacy import mask_name, mask_phone
    from arrears.store.calls import call_list

    day = _day(as_of)
    with _tx() as conn:
        rows = call_list(conn, day, collector)
    if not rows:
        out.print(f"no call tasks on {day}" + (f" for {collector}" if collector else ""))
        return
    table = Table(
        "task",
        "collector",
        "#",
        "loan",
        "borrower",
        "phone",
        "stage",
        "risk",
        "DPD",
        "overdue",
        "status",
        "talking points",
        title=f"calls {day}",
    )
    for r in rows:
        table.add_row(
            str(r.id),
            r.collector,
            str(r.rank),
            r.loan_no,
            mask_name(r.name),
            mask_phone(r.phone),
            r.stage,
            r.risk,
            str(r.dpd),
            f"{r.currency} {from_cents(r.overdue_total)}",
            r.status + (f" ({r.outcome})" if r.outcome else ""),
            talking_points(r.template, r.locale, r.dpd, from_cents(r.overdue_total), r.currency),
        )
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
    from arrears.policy import load_policy
    from arrears.store.borrower_says import add_promise, open_dispute
    from arrears.store.calls import log_call

    if outcome == "ptp" and (amount is None or on_date is None):
        _fail("--outcome ptp needs --amount and --date")
    if outcome == "dispute" and not reason:
        _fail("--outcome dispute needs --reason")
    day = _day(on)
    with _tx() as conn:
        row = log_call(conn, task, outcome, note, now=_now(), actor=by)
        actor = _actor(by) if by else row.collector
        if outcome == "ptp":
            add_promise(
                conn,
                row.loan_id,
                _money(amount or "", "--amount"),
                day,
                _date(on_date or "", "--date"),
                now=_now(),
                actor=actor,
                source=f"call:{task}",
                note=note,
            )
        if outcome == "dispute":
            open_dispute(
                conn,
                row.loan_id,
                day,
                reason or "",
                load_policy(get_settings().policy_path).disputes.reply_days,
                now=_now(),
                actor=actor,
                source=f"call:{task}",
            )
    out.print(f"call {task}: {outcome} recorded")


# --- legal -------------------------------------------------------------------------------


@legal_app.command("list")
def legal_list(status: Annotated[str | None, typer.Option(help="open or closed.")] = None) -> None:
    """Legal cases with their next open task and its owner."""
    from arrears.money import from_cents
    from arrears.store.legal import legal_cases

    with _tx() as conn:
        rows = legal_cases(conn, status)
    table = Table("reference", "loan", "opened", "rule", "track", "overdue", "status", "next task")
    for r in rows:
        table.add_row(
            r.reference,
            r.loan_no,
            str(r.opened_on),
            r.rule,
            r.track,
            f"{r.currency} {from_cents(r.overdue_total)}",
            r.status,
            r.next_task or "",
        )
    out.print(table)


@legal_app.command("show")
def legal_show(
    reference: Annotated[str, typer.Argument(help="Legal case reference, e.g. LC-20261123-LN00000042.")],
) -> None:
    """A legal case and its chain of tasks."""
    from arrears.store.legal import legal_case

    with _tx() as conn:
        case_, tasks = legal_case(conn, reference)
    out.print(
        f"[bold]{case_.reference}[/bold]: {case_.status}, opened {case_.opened_on} by rule {case_.rule}, "
        f"track {case_.track}" + (f", closed {case_.closed_on} ({case_.close_reason})" if case_.closed_on else "")
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
    from arrears.store.legal import update_task

    with _tx() as conn:
        update_task(
            conn,
            reference,
            task,
            status=status,
            outcome=outcome,
            owner=owner,
            as_of=_day(on),
            now=_now(),
            actor=_actor(by),
        )
    out.print(f"{reference} {task} updated")


@legal_app.command("export")
def legal_export(
    references: Annotated[list[str] | None, typer.Argument(help="Legal cases (default: every open one).")] = None,
    out_dir: Annotated[Path, typer.Option("--out", help="Folder to write to.")] = Path("var/legal"),
) -> None:
    """Hand-off for the legal team or an outside firm: an evidence pack per case (PDF + JSON
    sidecar: contract, schedule, payments, every contact with its outcome, letters with
    checksums, promises, disputes) and an index of the cases as CSV and JSON.

    Example: arrears legal export --out ./handoff
    """
    from arrears.evidence import evidence, write_pack
    from arrears.store.legal import legal_cases

    settings = get_settings()
    with _tx() as conn:
        cases = [c for c in legal_cases(conn) if (c.reference in references if references else c.status == "open")]
        if references:
            missing = set(references) - {c.reference for c in cases}
            if missing:
                _fail(f"no legal case {', '.join(sorted(missing))}")
        packs = [evidence(conn, c.reference, settings) for c in cases]
    out_dir.mkdir(parents=True, exist_ok=True)
    for data in packs:
        pdf, sidecar = write_pack(data, out_dir, settings)
        out.print(f"{pdf.resolve()}\n{sidecar.resolve()}")
    index = [p["legal_case"] | {"loan_no": p["loan"]["loan_no"], "borrower": p["borrower"]["name"]} for p in packs]
    (out_dir / "legal-cases.json").write_text(json.dumps(index, ensure_ascii=False, indent=2, default=str), "utf-8")
    with (out_dir / "legal-cases.csv").open("w", newline="", encoding="utf-8") as f:
        fields = [
            "reference",
            "loan_no",
            "borrower",
            "opened_on",
            "rule",
            "track",
            "overdue_total",
            "status",
            "next_task",
            "next_owner",
            "next_due_on",
        ]
        w = csv.DictWriter(f, fieldnames=fields, extrasaction="ignore")
        w.writeheader()
        w.writerows(index)
    out.print(f"{len(packs)} legal cases exported to {out_dir.resolve()}")
