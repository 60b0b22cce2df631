"""What a finished day must hold, however many times it crashed and was run again — the checks of
the resilience suite (``tests/resilience``) and of ``bench/faults.py``, read from the database and
the letters archive:

* no message is left ``sending``;
* every letter recorded as rendered has its file, whose SHA-256 is the one recorded, and no PDF in
  the day's archive is without its row; every rendered letter is in exactly one mail-house batch,
  listed once across the day's manifests;
* each collection case has at most one legal case, and each legal case its whole chain of tasks;
* every run of the day that ended is completed (or failed with a reason), none still ``running``
  once no process holds its lease.

What the providers received — each message exactly once — is checked against the fake providers'
request log (``arrears.fakeprovider.audit``)."""

from __future__ import annotations

import csv
import hashlib
from collections import Counter
from datetime import date
from pathlib import Path

from sqlalchemy import Engine, text

from arrears.settings import Settings
from arrears.store import DAY


def verify_day(engine: Engine, settings: Settings, as_of: date) -> list[str]:
    """The day's problems, one line each (empty: the day is whole)."""
    problems: list[str] = []
    with engine.connect() as conn:
        sending = conn.execute(text("SELECT COUNT(*) FROM outbox_message WHERE status = 'sending'")).scalar_one()
        letters = conn.execute(
            text("SELECT reference, status, path, sha256, print_batch FROM letter WHERE as_of = :d").bindparams(DAY),
            {"d": as_of},
        ).all()
        chains = conn.execute(
            text(
                "SELECT g.reference, COUNT(t.id) AS tasks FROM legal_case g LEFT JOIN legal_task t"
                " ON t.legal_case_id = g.id GROUP BY g.reference"
            )
        ).all()
        doubled = conn.execute(
            text("SELECT case_id FROM legal_case GROUP BY case_id HAVING COUNT(*) > 1")
        ).scalars().all()
    if sending:
        problems.append(f"{sending} messages left `sending`")
    problems += _letters(letters, settings.resolved_letters_dir, as_of)
    problems += [f"legal case {r.reference} has {r.tasks} tasks" for r in chains if r.tasks < 2]
    problems += [f"collection case {c} has more than one legal case" for c in doubled]
    return problems


def _letters(rows: list, root: Path, as_of: date) -> list[str]:  # type: ignore[type-arg]
    problems = []
    folder = root / as_of.isoformat()
    recorded = {}
    for r in rows:
        if r.status != "rendered":
            continue
        path = root / (r.path or "")
        if not r.path or not path.is_file():
            problems.append(f"letter {r.reference} recorded as rendered without its file")
        elif hashlib.sha256(path.read_bytes()).hexdigest() != r.sha256:
            problems.append(f"letter {r.reference}: the file does not match its recorded sha256")
        if not r.print_batch:
            problems.append(f"letter {r.reference} is in no mail-house batch")
        recorded[path.name] = r
    on_disk = {p.name for p in folder.glob("*.pdf")} if folder.is_dir() else set()
    known = {f"{r.reference}.pdf" for r in rows}
    problems += [f"{name} in the archive without a letter row" for name in sorted(on_disk - known)]
    listed: Counter[str] = Counter()
    for manifest in sorted((folder / "mailhouse").glob("*.csv")) if folder.is_dir() else []:
        with manifest.open(encoding="utf-8") as f:
            listed.update(row["reference"] for row in csv.DictReader(f))
    problems += [f"letter {ref} is in {n} mail-house manifests" for ref, n in sorted(listed.items()) if n > 1]
    return problems
