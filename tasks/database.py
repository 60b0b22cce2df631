from __future__ import annotations

from arrears.runtime import Runtime
from arrears.steps import database
from tasks.retry import db_task


@db_task("prepare-database", "prepare-database")
def prepare_database(rt: Runtime) -> None:
    """Bring the schema to the latest migration (a no-op when it is there)."""
    database.prepare(rt)
