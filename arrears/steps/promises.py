"""Promises to pay: recorded (checked against the rules first) and, the day after their date,
judged kept, partly kept or broken from the payments made from the promise through its date
(before classification, so a broken promise already weighs on that day's risk grade)."""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal

from sqlalchemy import Connection

from arrears.cases.promises import PromiseError, check_promise, judge
from arrears.faults import crash_point
from arrears.money import MAX_AMOUNT, parse_amount
from arrears.runtime import Runtime
from arrears.store import as_date
from arrears.store import promises as store
from arrears.store.loans import UnknownLoan, loan_id_of
from arrears.store.promises import NewPromise


def judge_day(rt: Runtime, as_of: date) -> dict[str, int]:
    """Judge every open promise whose date has passed; returns verdict -> promises."""
    out: dict[str, int] = {}
    with rt.engine.begin() as conn:
        for p in store.promises_due(conn, as_of):
            made_on, promised_on = as_date(p.made_on), as_date(p.promised_on)
            paid = store.paid_between(conn, p.loan_id, made_on, promised_on)
            verdict = judge(p.amount, paid)
            store.record_verdict(conn, p, verdict, paid, promised_on + timedelta(days=1), rt.clock.wall())
            out[verdict] = out.get(verdict, 0) + 1
            crash_point("promises.judged")  # a verdict written, the day's judging not committed
    return out


def record_promise(conn: Connection, promise: NewPromise, now: datetime) -> tuple[int, bool]:
    """A promise the rules accept, recorded (the same one twice is recorded once); (id, new)."""
    check_promise(promise.amount, promise.made_on, promise.promised_on)
    return store.add_promise(conn, promise, now)


@dataclass
class PromiseImport:
    new: int = 0
    seen: int = 0  # recorded before: importing the same file twice records nothing new
    refused: list[str] = field(default_factory=list)  # "<file>:<line>: <reason>"


PROMISE_COLUMNS = frozenset({"loan_no", "amount", "promised_on", "made_on"})


def import_promises(
    conn: Connection, text: str, name: str, path: str, now: datetime, ceiling: Decimal = MAX_AMOUNT
) -> PromiseImport:
    """Promises from a CSV of call outcomes (``loan_no,amount,promised_on,made_on,collector,note``);
    a bad row is refused with its line and reason, the good ones go through. ``name``: the file's
    name (the promises' source); ``path``: as the refusals name it. Raises ValueError for a
    header without the required columns."""
    reader = csv.DictReader(text.splitlines())
    if not PROMISE_COLUMNS <= set(reader.fieldnames or ()):
        raise ValueError(f"header must include {', '.join(sorted(PROMISE_COLUMNS))}")
    result = PromiseImport()
    for line, row in enumerate(reader, start=2):
        try:
            amount = parse_amount(row["amount"] or "", ceiling)
            promised_on, made = date.fromisoformat(row["promised_on"]), date.fromisoformat(row["made_on"])
            with conn.begin_nested():
                told = NewPromise(
                    loan_id_of(conn, (row["loan_no"] or "").strip()), amount, made, promised_on,
                    actor=(row.get("collector") or "").strip() or "import", source=f"import:{name}",
                    note=(row.get("note") or "").strip(),
                )  # fmt: skip
                _, new = record_promise(conn, told, now)
        except (ValueError, TypeError, PromiseError, UnknownLoan) as err:
            result.refused.append(f"{path}:{line}: {err}")
            continue
        result.new += new
        result.seen += not new
    return result
