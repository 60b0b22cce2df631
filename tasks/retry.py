"""Retry only what a retry can fix: transient database I/O, not bad data or bugs."""

from __future__ import annotations

from typing import Any

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
