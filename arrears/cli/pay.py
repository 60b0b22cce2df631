"""Payments as they arrive: a bank's daily file (``pay import``), and the signed pay-now links
(``pay link``, ``pay verify``). The signed webhook (``/payments`` of ``arrears webhooks``) records
single payments the same way."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from arrears.book.reader import BookFileError
from arrears.cli.common import AsOf, fail, open_engine, out, parse_day, parse_money, policy, wall
from arrears.settings import get_settings
from arrears.steps.payments import PaymentRefused, import_payments, owed_on
from arrears.templating.lender import lender_from
from arrears.templating.paylink import verify_pay_link

pay_app = typer.Typer(help="Payments as they arrive, and pay-now links.", no_args_is_help=True)


@pay_app.command("import")
def pay_import(path: Annotated[Path, typer.Argument(help="A payments CSV: loan_no,paid_on,amount,reference.")]) -> None:
    """Record a bank's payment file now, not at the next daily run: a payment that leaves nothing
    overdue cures its loan at once (queued reminders, unprinted letters and open calls stop). Each
    reference counts once (reading the file again changes nothing); bad rows are listed with their line.

    Exit status: 0 all rows recorded, 3 some rows quarantined, 2 the file cannot be read.

    Example: arrears pay import ./bank/2026-11-23.csv
    """
    settings, engine = get_settings(), open_engine()
    try:
        done = import_payments(engine, policy(), settings, path, wall)
    except BookFileError as e:
        fail(str(e))
    finally:
        engine.dispose()
    new = [r for r in done.recorded if r.new]
    cured = [r for r in new if r.cured]
    out.print(
        f"{path.name}: {len(new)} payments recorded ({len(done.recorded) - len(new)} already known), "
        f"{len(cured)} loans cured at once"
    )
    for r in cured:
        stopped = ", ".join(f"{n} {kind}" for kind, n in r.stopped.items() if n) or "nothing pending"
        out.print(f"  {r.loan_no}: cured by {r.reference}; stopped {stopped}")
    for p in done.problems:
        out.print(escape(f"  {p.file}:{p.line} [{p.column}] {p.reason}"))
    raise typer.Exit(done.exit_code)


@pay_app.command("link")
def pay_link(
    loan: Annotated[str, typer.Argument(help="Loan number.")],
    amount: Annotated[str | None, typer.Option(help="Amount (default: what the loan owes that day).")] = None,
    as_of: AsOf = None,
) -> None:
    """The loan's signed pay-now link, as reminders and letters carry it.

    Example: arrears pay link LN00000042
    """
    settings = get_settings()
    if not settings.pay_link_key.get_secret_value():
        fail("set ARREARS_PAY_LINK_KEY to sign pay-now links (without it, links are the plain ARREARS_LENDER_PAY_URL)")
    if amount is None:
        engine = open_engine(settings)
        try:
            value = owed_on(engine, policy(), loan, parse_day(as_of, settings))
        except PaymentRefused as e:
            fail(str(e))
        finally:
            engine.dispose()
    else:
        value = parse_money(amount, "--amount")
    print(lender_from(settings).pay_link(loan, value))


@pay_app.command("verify")
def pay_verify(url: Annotated[str, typer.Argument(help="A pay-now link.")]) -> None:
    """Check a pay-now link's signature (what the payment page does before it takes the money).

    Example: arrears pay verify 'https://pay.anxin.example?loan=LN00000042&amount=1551.76&sig=…'
    """
    found = verify_pay_link(get_settings().pay_link_key.get_secret_value(), url)
    if found is None:
        fail("not a valid pay-now link: altered, or signed with another key", code=1)
    out.print(f"valid: loan {found[0]}, amount {found[1]}")
