"""Demand letters: one loan's letter, and the archive check."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from arrears.cli.common import AsOf, open_engine, parse_day, policy, wall
from arrears.settings import get_settings
from arrears.steps.letters import LetterNotProduced, loan_letter, verify_archive

letters_app = typer.Typer(help="The letter archive.", no_args_is_help=True)


def letter(
    loan: Annotated[str, typer.Option("--loan", help="Loan number.")],
    as_of: Annotated[str | None, typer.Option("--as-of", help="Letter date, YYYY-MM-DD.")] = None,
    template: Annotated[
        str | None, typer.Option(help="Letter template (default: the one the policy sends in the loan's stage).")
    ] = None,
) -> None:
    """Render a loan's demand letter for a day and print the PDF's absolute path.

    The letter is archived and recorded like the daily run's; asking again prints the same file.

    Example: arrears letter --loan LN00000042 --as-of 2026-11-23
    """
    settings = get_settings()
    try:
        path = loan_letter(
            engine=open_engine(settings), policy=policy(), settings=settings, loan_no=loan,
            as_of=parse_day(as_of, settings), template=template, now=wall,
        )  # fmt: skip
    except LetterNotProduced as e:
        print(e, file=sys.stderr)
        raise typer.Exit(2) from None
    print(path)


@letters_app.command("verify")
def verify(as_of: AsOf = None) -> None:
    """Check every archived letter of a day against the sha256 recorded when it was rendered.

    Exit 0 when all match, 1 when a file is missing or differs (listed).

    Example: arrears letters verify --as-of 2026-11-23
    """
    settings = get_settings()
    day = parse_day(as_of, settings)
    checked, problems = verify_archive(engine=open_engine(settings), settings=settings, as_of=day)
    for problem in problems:
        print(problem, file=sys.stderr)  # one line each: greppable, never wrapped
    print(f"{day}: {checked} letters checked, {len(problems)} missing or altered")
    raise typer.Exit(1 if problems else 0)
