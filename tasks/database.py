from __future__ import annotations

from prefect import task
from prefect.cache_policies import NO_CACHE

from arrears.db import upgrade
from arrears.runtime import Runtime
from tasks.retry import transient_io


@task(
    name="prepare-database",
    task_run_name="prepare-database",
    cache_policy=NO_CACHE,
    retries=2,
    retry_delay_seconds=5,
    retry_condition_fn=transient_io,
)
def prepare_database(rt: Runtime) -> None:
    """Bring the schema to the latest migration (a no-op when it is there)."""
    upgrade(rt.engine)
