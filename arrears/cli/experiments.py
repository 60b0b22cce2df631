"""Champion/challenger experiments: list them, show an experiment's results, stop one (promoting
an arm)."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from arrears.cli.common import AsOf, By, OnDay, actor, day, fail, out, policy, transaction, wall
from arrears.reports.experiments import result_table
from arrears.settings import get_settings
from arrears.steps.experiments import ExperimentError, find, results, stop_experiment
from arrears.store.experiments import arm_counts, stops

experiments_app = typer.Typer(help="Champion/challenger experiments of the policy.", no_args_is_help=True)


@experiments_app.command("list")
def experiments_list() -> None:
    """The policy's experiments: dates, arms and their weights, loans in each arm, stopped or running.

    Example: arrears experiments list
    """
    rules, today = policy(), day(None)
    with transaction() as conn:
        stopped = stops(conn)
        counts = {e.name: arm_counts(conn, e.name) for e in rules.experiments}
    table = Table("experiment", "unit", "from", "to", "arms (weight: loans)", "state")
    for e in rules.experiments:
        arms = ", ".join(f"{a.name} ({a.weight}: {counts[e.name].get(a.name, 0)})" for a in e.arms)
        stop = stopped.get(e.name)
        state = (
            f"stopped {stop.stopped_on}" + (f", promoted {stop.promoted_arm}" if stop.promoted_arm else "")
            if stop else ("running" if e.running_on(today) else "not running")
        )  # fmt: skip
        table.add_row(e.name, e.unit, str(e.started_on), str(e.ended_on or "—"), arms, state)
    out.print(table if rules.experiments else "no experiments in the policy")


@experiments_app.command("show")
def experiments_show(name: Annotated[str, typer.Argument(help="The experiment's name.")], as_of: AsOf = None) -> None:
    """Results per arm since each loan joined, and each challenger against the champion with 95 %
    confidence intervals: cure, roll and recovery rates, days to cure, contacts per cure, cost per
    recovered unit, opt-out and complaint rates.

    Example: arrears experiments show firm-m1 --as-of 2026-11-30
    """
    rules = policy()
    try:
        exp = find(rules, name)
    except ExperimentError as e:
        fail(str(e))
    with transaction() as conn:
        result = results(conn, rules, get_settings(), exp, day(as_of))
    rows = result_table(result)
    table = Table(*rows[0].keys()) if rows else Table("arm")
    for r in rows:
        table.add_row(*(str(v) for v in r.values()))
    out.print(table)
    for verdict in result.verdicts:
        out.print(verdict)


@experiments_app.command("stop")
def experiments_stop(
    name: Annotated[str, typer.Argument(help="The experiment's name.")],
    promote: Annotated[str | None, typer.Option(help="The arm whose strategy plans every loan from now on.")] = None,
    on: OnDay = None,
    by: By = None,
) -> None:
    """Stop an experiment: from the day (default today) nobody joins, nothing is counted for an arm,
    and every loan is planned by the promoted arm's strategy (or the champion's). Fold the promoted
    strategy into the policy's `strategy` when convenient.

    Example: arrears experiments stop firm-m1 --promote early_call --by zhao.min
    """
    try:
        with transaction() as conn:
            done = stop_experiment(conn, policy(), name, day(on), promote, actor(by), wall())
    except ExperimentError as e:
        fail(str(e))
    if not done:
        out.print(f"{name} was stopped already")
        return
    out.print(f"{name} stopped" + (f"; {promote} plans every loan from now on" if promote else ""))
