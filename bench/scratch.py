"""A scratch database for a benchmark: a fresh SQLite file under bench/out, or a fresh schema
on PostgreSQL dropped afterwards."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import text

from arrears.db import make_engine

POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/test"


@contextmanager
def scratch_database(kind: str, name: str, postgres_url: str = POSTGRES_URL) -> Iterator[str]:
    """Yield the URL of an empty database (``kind``: sqlite | postgresql)."""
    if kind == "sqlite":
        path = Path(f"bench/out/{name}.db").resolve()
        path.parent.mkdir(parents=True, exist_ok=True)
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        yield f"sqlite:///{path}"
        return
    schema = f"bench_{uuid.uuid4().hex[:8]}"
    with make_engine(postgres_url).begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    try:
        yield f"{postgres_url}?options=-csearch_path%3D{schema}"
    finally:
        with make_engine(postgres_url).begin() as conn:
            conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
