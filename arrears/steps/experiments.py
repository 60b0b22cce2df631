"""Champion/challenger experiments: their results read from the database (the daily summary, the
report, ``arrears experiments show``), and stopping one (``arrears experiments stop``)."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Connection

from arrears.policy import Policy
from arrears.policy.experiments import ExperimentSpec
from arrears.reports.experiments import ExperimentResult, figures
from arrears.settings import Settings
from arrears.store import as_date
from arrears.store import experiments as store


class ExperimentError(ValueError):
    """An experiment the policy does not name, or an arm it does not have."""


def find(policy: Policy, name: str) -> ExperimentSpec:
    for exp in policy.experiments:
        if exp.name == name:
            return exp
    known = ", ".join(e.name for e in policy.experiments) or "none"
    raise ExperimentError(f"no experiment {name!r} in the policy (known: {known})")


def latest(policy: Policy, as_of: date) -> ExperimentSpec | None:
    """The experiment running on ``as_of``, else the last one started before it."""
    started = [e for e in policy.experiments if e.started_on <= as_of]
    return policy.experiment_on(as_of) or (max(started, key=lambda e: e.started_on) if started else None)


def results(
    conn: Connection, policy: Policy, settings: Settings, exp: ExperimentSpec, as_of: date
) -> ExperimentResult:
    """Each arm's figures on ``as_of``, counted until the experiment ended or was stopped."""
    stop = store.stop_of(conn, exp.name)
    ends = [d for d in (exp.ended_on, as_date(stop.stopped_on) if stop else None) if d is not None]
    until = min(ends, default=date.max)
    buckets = [b.name for b in policy.stages.buckets]
    outcomes = store.loan_outcomes(conn, exp, as_of, until, buckets)
    opted, complained = store.complaints(conn, exp, as_of)
    return figures(
        exp.name, [a.name for a in exp.arms], as_of, outcomes, store.contacts(conn, exp, as_of, until), opted,
        complained, settings.contact_costs, settings.cost_currency,
    )  # fmt: skip


def stop_experiment(
    conn: Connection, policy: Policy, name: str, on: date, promote: str | None, by: str, at: datetime
) -> bool:
    """From ``on`` nobody joins and every loan is planned by ``promote``'s strategy (or the
    champion's); False if it was stopped already."""
    exp = find(policy, name)
    if promote is not None and promote not in {a.name for a in exp.arms}:
        raise ExperimentError(f"{name} has no arm {promote!r} (arms: {', '.join(a.name for a in exp.arms)})")
    return store.stop(conn, name, on, promote, by, at)
