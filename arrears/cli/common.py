"""What every command shares, defined once: the options (``--as-of``, ``--now``, ``--on``,
``--by``), parsing of days, clocks and amounts, the engine, one transaction per command with
its known refusals turned into a message, the consoles, and how a command fails."""

from __future__ import annotations

import getpass
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Annotated, Any, NoReturn

import typer
from rich.console import Console
from sqlalchemy import Connection, Engine

from arrears.cases.promises import PromiseError
from arrears.db import make_engine, upgrade
from arrears.money import parse_amount
from arrears.policy import Policy, load_policy
from arrears.settings import Settings, get_settings
from arrears.store.calls import CallError
from arrears.store.disputes import DisputeError
from arrears.store.hardship import HardshipError
from arrears.store.legal import LegalError
from arrears.store.loans import UnknownLoan

REFUSALS = (PromiseError, DisputeError, HardshipError, UnknownLoan, CallError, LegalError)


class _Out:
    """Rich output; when not on a terminal (a pipe, a log, a test) wide enough not to fold
    loan numbers and references, so the output stays greppable."""

    def print(self, *objects: Any, **kwargs: Any) -> None:
        width = None if sys.stdout.isatty() else 220
        Console(width=width).print(*objects, **kwargs)


out = _Out()
err = Console(stderr=True)

AsOf = Annotated[
    str | None, typer.Option("--as-of", help="Business day, YYYY-MM-DD (default: today, lender's timezone).")
]
Now = Annotated[
    str | None, typer.Option("--now", help="The clock, ISO timestamp with offset (default: the real clock).")
]
DryRun = Annotated[bool, typer.Option("--dry-run", help="Render and record reminders; call no provider.")]
By = Annotated[str | None, typer.Option("--by", help="Who records this (default: the OS user).")]
OnDay = Annotated[str | None, typer.Option("--on", help="Business day, YYYY-MM-DD (default: today).")]


def fail(message: str, code: int = 2) -> NoReturn:
    """A refusal: ``error: <message>`` on stderr, exit ``code``."""
    print(f"error: {message}", file=sys.stderr)
    raise typer.Exit(code)


def wall() -> datetime:
    return datetime.now(UTC)


def parse_day(value: str | None, settings: Settings, option: str = "--as-of") -> date:
    """A business day, or today in the lender's timezone."""
    if value is None:
        return settings.today(wall())
    return parse_date(value, option)


def day(value: str | None) -> date:
    return parse_day(value, get_settings())


def parse_date(value: str, option: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(f"{value!r} is not a date (YYYY-MM-DD)", param_hint=option) from None


def parse_now(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(f"{value!r} is not an ISO timestamp", param_hint="--now") from None
    if parsed.tzinfo is None:
        raise typer.BadParameter("give a UTC offset, e.g. 2026-11-23T09:00:00+08:00", param_hint="--now")
    return parsed


def parse_money(value: str, option: str) -> Decimal:
    """An amount as the book's files write one (plain digits, cents at most, under the ceiling)."""
    try:
        return parse_amount(value, get_settings().max_amount)
    except ValueError as e:
        raise typer.BadParameter(str(e), param_hint=option) from None


def actor(by: str | None) -> str:
    return by or getpass.getuser()


def open_engine(settings: Settings | None = None) -> Engine:
    """An engine on the configured database, schema brought to the latest migration."""
    engine = make_engine((settings or get_settings()).resolved_database_url)
    upgrade(engine)
    return engine


def policy() -> Policy:
    return load_policy(get_settings().policy_path)


@contextmanager
def transaction() -> Iterator[Connection]:
    """One transaction; a known refusal prints its reason and exits 2."""
    engine = open_engine()
    try:
        with engine.begin() as conn:
            yield conn
    except REFUSALS as e:
        fail(str(e))
    finally:
        engine.dispose()


def quiet_prefect() -> None:
    """Prefect defaults that suit a closed machine, an operator's own settings win: the terminal
    shows Prefect's warnings and errors only, while the runs' INFO logs (masked, like every log of
    ours) still reach the server, so the UI shows them."""
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("PREFECT_LOGGING_HANDLERS_CONSOLE_LEVEL", "WARNING")
    # the first start of a fresh ~/.prefect migrates its database: give it time
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")
