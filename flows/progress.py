"""Show a mapped step's progress in the UI while the flow waits for it."""

from __future__ import annotations

from typing import Any, TypeVar

from prefect.artifacts import create_progress_artifact, update_progress_artifact
from prefect.futures import PrefectFuture, as_completed

R = TypeVar("R")


def with_progress(futures: list[PrefectFuture[R]], key: str, what: str) -> list[R]:
    """Wait for a mapped step, showing its progress in the UI (a progress artifact updated as each
    batch finishes); the results come back in the order of ``futures``. A failed batch raises."""
    if not futures:
        return []
    artifact = create_progress_artifact(0.0, key=key, description=f"{what}: 0 of {len(futures)} batches")
    done = 0
    for _ in as_completed(futures):
        done += 1
        update_progress_artifact(artifact, 100.0 * done / len(futures), f"{what}: {done} of {len(futures)} batches")
    results: list[Any] = [f.result() for f in futures]
    return results
