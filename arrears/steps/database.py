"""Bring the schema to the latest migration before the day's work (a no-op when it is there)."""

from __future__ import annotations

from arrears.db import upgrade
from arrears.runtime import Runtime


def prepare(rt: Runtime) -> None:
    upgrade(rt.engine)
