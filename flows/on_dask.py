"""The day's batch steps — classify and plan — on a Dask cluster, through Prefect's integration
(``prefect-dask``): each step a subflow whose task runner is a ``DaskTaskRunner``, each batch a
Prefect task that a Dask worker runs. The step code is the one the process pool runs
(``classify_loans``, ``plan_borrowers``: plain arguments, the database shared); only the task runner
and the batch layout change.

``ARREARS_RUNNER=dask`` turns it on; ``ARREARS_DASK_ADDRESS`` names an existing scheduler (many
machines: see deployments/dask/), else the run starts a local cluster of ``ARREARS_DASK_WORKERS``
worker processes for its duration. Every worker must reach the database (PostgreSQL: a SQLite file
is one machine's) and the Prefect API.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date

from prefect import flow, unmapped
from prefect.task_runners import TaskRunner

from arrears.runtime import Runtime
from arrears.settings import Settings
from arrears.steps.classify import ClassifySummary, classify_loans, incremental_base
from arrears.steps.plan import PlanSummary, plan_borrowers
from arrears.store.book import Batch
from tasks.retry import db_task


@contextmanager
def dask_scheduler(settings: Settings) -> Iterator[str]:
    """For a Dask run, the scheduler's address: ``ARREARS_DASK_ADDRESS``, else a local cluster's
    (closed at the end); else ''."""
    if settings.runner != "dask":
        yield ""
        return
    if settings.dask_address:
        yield settings.dask_address
        return
    from distributed import LocalCluster  # noqa: PLC0415 - only a Dask run starts one

    with LocalCluster(
        n_workers=settings.dask_workers, threads_per_worker=1, processes=True, dashboard_address=None,
    ) as cluster:  # fmt: skip
        yield cluster.scheduler_address


@db_task("classify", "classify loans {first}..{last}")
def classify_range(url: str, policy_path: str | None, first: int, last: int, as_of: date,
                   since: date | None) -> ClassifySummary:  # fmt: skip
    """One batch of loans classified on a Dask worker (``classify_loans``)."""
    return classify_loans(url, policy_path, first, last, as_of, since)


@db_task("plan", "plan borrowers {first}..{last}")
def plan_range(url: str, policy_path: str | None, first: str, last: str, as_of: date) -> PlanSummary:
    """One range of borrowers planned on a Dask worker (``plan_borrowers``)."""
    return plan_borrowers(url, policy_path, first, last, as_of)


@flow(name="classify-on-dask", flow_run_name="classify-on-dask-{as_of}")
def classify_on_dask(url: str, policy_path: str | None, ranges: list[tuple[int, int]], as_of: date,
                     since: date | None) -> list[ClassifySummary]:  # fmt: skip
    futures = classify_range.map(
        unmapped(url), unmapped(policy_path), [a for a, _ in ranges], [b for _, b in ranges], unmapped(as_of),
        unmapped(since),
    )  # fmt: skip
    return [f.result() for f in futures]


@flow(name="plan-on-dask", flow_run_name="plan-on-dask-{as_of}")
def plan_on_dask(url: str, policy_path: str | None, bounds: list[tuple[str, str]], as_of: date) -> list[PlanSummary]:
    futures = plan_range.map(
        unmapped(url), unmapped(policy_path), [a for a, _ in bounds], [b for _, b in bounds], unmapped(as_of)
    )
    return [f.result() for f in futures]


def classify_book(rt: Runtime, batches: list[Batch], as_of: date, address: str) -> list[ClassifySummary]:
    """The day's classify batches on the cluster at ``address``."""
    ranges = [(b.first_loan_id, b.last_loan_id) for b in batches]
    since = incremental_base(rt, as_of)
    return classify_on_dask.with_options(task_runner=_runner(address))(rt.url, rt.policy_path, ranges, as_of, since)


def plan_book(rt: Runtime, bounds: list[tuple[str, str]], as_of: date, address: str) -> list[PlanSummary]:
    """The day's plan batches on the cluster at ``address``."""
    return plan_on_dask.with_options(task_runner=_runner(address))(rt.url, rt.policy_path, bounds, as_of)


def _runner(address: str) -> TaskRunner:  # type: ignore[type-arg]
    from prefect_dask import DaskTaskRunner  # noqa: PLC0415 - distributed: a second to import, for Dask runs only

    return DaskTaskRunner(address=address)
