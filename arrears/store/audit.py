"""The export audit: one row per hand-off of personal data (see ``models.audit``)."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, insert, select, update

from models import ExportAudit

A = ExportAudit.__table__  # type: ignore[attr-defined]


def record_export(
    conn: Connection,
    *,
    at: datetime,
    actor: str,
    kind: str,
    unmasked: bool,
    reason: str,
    cases: Sequence[str],
    destination: str,
    files: Mapping[str, str],
) -> int:
    """Record who exported which cases where (``files``: name -> sha256); returns the audit id."""
    row = {
        "at": at, "actor": actor, "kind": kind, "unmasked": unmasked, "reason": reason,
        "cases": json.dumps(list(cases)), "destination": destination, "files": json.dumps(dict(files), sort_keys=True),
    }  # fmt: skip
    return int(conn.execute(insert(A).values(row).returning(A.c.id)).scalar_one())


def record_files(conn: Connection, audit_id: int, files: Mapping[str, str]) -> None:
    """The files an export wrote (name -> sha256), once they are written."""
    conn.execute(update(A).where(A.c.id == audit_id).values(files=json.dumps(dict(files), sort_keys=True)))


def exports(conn: Connection, limit: int = 50) -> list[Any]:
    """The latest exports, newest first."""
    return list(conn.execute(select(A).order_by(A.c.at.desc(), A.c.id.desc()).limit(limit)))
