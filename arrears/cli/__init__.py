"""The ``arrears`` command line: thin commands over the same functions the flows call.

Every command and command group is listed here, once; the modules beside this one define
them and register nothing themselves.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

import typer
from pydantic import ValidationError

from arrears.cli import (
    book,
    calls,
    cases,
    experiments,
    guard,
    keys,
    legal,
    letters,
    messages,
    ops,
    pay,
    promises,
    providers,
    run,
)  # fmt: skip
from arrears.policy import PolicyError
from arrears.providers.factory import ProviderNotConfigured
from arrears.vault import VaultUnavailable

# Configuration a person must fix: told in one message (the traceback only with --debug).
CONFIG_ERRORS = (PolicyError, VaultUnavailable, ProviderNotConfigured, ValidationError)

COMMANDS: tuple[tuple[str, Callable[..., Any]], ...] = (
    ("import", book.import_),
    ("loans", book.loans),
    ("run", run.run),
    ("backfill", run.backfill),
    ("demo", run.demo),
    ("preview", messages.preview),
    ("webhooks", messages.webhooks),
    ("fake-providers", messages.fake_providers),
    ("letter", letters.letter),
    ("case", cases.case),
    ("why", guard.why),
    ("retention", keys.retention),
    ("report", ops.report),
    ("server", ops.server),
)
GROUPS: tuple[tuple[str, typer.Typer], ...] = (
    ("db", book.db_app),
    ("templates", messages.templates_app),
    ("outbox", messages.outbox_app),
    ("letters", letters.letters_app),
    ("ptp", promises.ptp_app),
    ("dispute", promises.dispute_app),
    ("hardship", promises.hardship_app),
    ("calls", calls.calls_app),
    ("legal", legal.legal_app),
    ("flag", guard.flag_app),
    ("keys", keys.keys_app),
    ("borrower", guard.borrower_app),
    ("automations", ops.automations_app),
    ("providers", providers.providers_app),
    ("bounces", providers.bounces_app),
    ("experiments", experiments.experiments_app),
    ("pay", pay.pay_app),
)


class _Debug:
    on = False


def _root(debug: bool = typer.Option(False, "--debug", help="Show the traceback of a configuration error.")) -> None:
    """Arrears: a collections engine for lenders, on Prefect."""
    _Debug.on = debug


def build_app() -> typer.Typer:
    app = typer.Typer(
        help="Arrears: a collections engine for lenders, on Prefect.",
        no_args_is_help=True,
        pretty_exceptions_enable=False,
    )
    app.callback()(_root)
    for name, command in COMMANDS:
        app.command(name)(command)
    for name, group in GROUPS:
        app.add_typer(group, name=name)
    return app


app = build_app()


def main() -> None:
    try:
        app()
    except CONFIG_ERRORS as e:
        if _Debug.on:
            raise
        print(f"error: {e}", file=sys.stderr)
        sys.exit(2)
