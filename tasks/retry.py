"""Retry only what a retry can fix: transient database I/O, not bad data or bugs."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from prefect import task
from prefect.cache_policies import NO_CACHE
from sqlalchemy.exc import DBAPIError, OperationalError


def transient_io(task: Any, task_run: Any, state: Any) -> bool:
    try:
        state.result()
    except (OperationalError, ConnectionError, TimeoutError):
        return True
    except DBAPIError as err:
        return bool(err.connection_invalidated)
    except Exception:  # noqa: BLE001 - anything else is not transient
        return False
    return False


def db_task(name: str, task_run_name: str | Callable[[], str]) -> Any:
    """The decorator every step of the day shares: no result cache (exactly-once comes
    from our keys in the database, not Prefect's cache) and retries with backoff on
    transient database I/O only."""
    return task(
        name=name,
        task_run_name=task_run_name,
        cache_policy=NO_CACHE,
        retries=2,
        retry_delay_seconds=[5, 30],
        retry_condition_fn=transient_io,
    )
