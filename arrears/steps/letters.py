"""Demand letters: the day's planned letters laid out in chunks over a process pool and archived
(file first, then the row; a re-run never lays out a rendered key again), the new ones handed to
the mail house as one print-ready batch, the archive checked against its checksums, and one
loan's letter for ``arrears letter`` (the same key, facts and file as the daily run's)."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from arrears.engine import position_for
from arrears.faults import crash_point
from arrears.letters.chunks import chunk_jobs, day_dir, run_chunks
from arrears.letters.facts import LetterFacts, NoLetterForStage, facts_for, letter_action
from arrears.letters.mailhouse import PrintBatch, batch_name, discard_chunks, write_print_batch
from arrears.letters.pdf import ChunkResult
from arrears.planning import ActionKey
from arrears.policy import Policy
from arrears.runtime import Runtime
from arrears.settings import Settings
from arrears.store import letters as store
from arrears.store.experiments import stamp_arms
from arrears.store.loans import UnknownLoan, loan_and_book, loan_nos
from models.letter import FAILED, RENDERED


class LetterNotProduced(RuntimeError):
    pass


@dataclass
class LetterRun:
    rendered: int = 0
    failed: int = 0
    failures: list[str] = field(default_factory=list)  # "reference: error", for the log and the summary
    pages: int = 0
    bytes: int = 0
    seconds: float = 0.0
    peak_rss_mb: float = 0.0
    unwritable: str | None = None  # the archive could not be written: the first such error (names the folder)


def render_day(rt: Runtime, as_of: date) -> LetterRun:
    """A PDF for every planned letter of the day that has none yet (a failed one is tried again)."""
    with rt.engine.connect() as conn:
        letters = [facts_for(src, rt.policy) for src in store.letters_to_render(conn, as_of)]
    return render_letters(engine=rt.engine, settings=rt.settings, letters=letters, now=rt.clock.wall)


def render_letters(
    *,
    engine: Engine,
    settings: Settings,
    letters: Sequence[LetterFacts],
    now: Callable[[], datetime],
    inline: bool = False,
) -> LetterRun:
    """Render these letters (all of one day) and record them; a letter already rendered is left alone."""
    run = LetterRun()
    if not letters:
        return run
    with engine.connect() as conn:
        done = {k for k, r in store.existing(conn, [f.key for f in letters]).items() if r.status == RENDERED}
    todo = [f for f in letters if f.key not in done]
    by_key = {f.key: f for f in todo}
    for result in run_chunks(chunk_jobs(todo, settings), settings, inline=inline):
        _record(engine, by_key, result, now())
        run.rendered += len(result.files)
        run.failed += len(result.failures)
        run.failures.extend(fail.error for fail in result.failures)
        run.unwritable = run.unwritable or next((f.error for f in result.failures if f.archive), None)
        run.pages += sum(f.pages for f in result.files)
        run.bytes += sum(f.size_bytes for f in result.files)
        run.seconds += result.seconds
        run.peak_rss_mb = max(run.peak_rss_mb, result.peak_rss_mb)
    return run


def _record(engine: Engine, by_key: dict[str, LetterFacts], result: ChunkResult, now: datetime) -> None:
    crash_point("letters.files_written")  # the chunk's PDFs are on disk, their rows not written
    rows = []
    for file in result.files:
        f = by_key[file.key]
        rows.append(
            _row(f, RENDERED)
            | {
                "path": f"{f.letter_date.isoformat()}/{file.path}",
                "sha256": file.sha256,
                "pages": file.pages,
                "size_bytes": file.size_bytes,
                "chunk": file.chunk,
            }
        )
    for failure in result.failures:
        rows.append(_row(by_key[failure.key], FAILED) | {"error": failure.error})
    with engine.begin() as conn:
        store.record(conn, rows, now)
        for day in {r["as_of"] for r in rows}:
            stamp_arms(conn, "letter", day)
    crash_point("letters.recorded")


def _row(f: LetterFacts, status: str) -> dict[str, Any]:
    return {
        "key": f.key, "reference": f.reference, "as_of": f.letter_date, "loan_id": f.loan_id,
        "borrower_id": f.borrower_id, "template": f.template, "locale": f.locale, "addressee": f.borrower_name,
        "address": f.address, "currency": f.currency, "dpd": f.dpd, "principal": f.overdue_principal,
        "interest": f.overdue_interest, "penalty": f.overdue_penalty, "fees": f.overdue_fees,
        "total": f.overdue_total, "deadline": f.deadline, "status": status, "error": None, "path": None,
        "sha256": None, "pages": None, "size_bytes": None, "chunk": None,
    }  # fmt: skip


def mailhouse_batch(rt: Runtime, as_of: date) -> PrintBatch | None:
    """Put the day's rendered letters that are in no mail-house batch yet into a new one."""
    return assemble_print_batch(engine=rt.engine, settings=rt.settings, as_of=as_of, now=rt.clock.wall)


def assemble_print_batch(
    *, engine: Engine, settings: Settings, as_of: date, now: Callable[[], datetime]
) -> PrintBatch | None:
    """One print-ready PDF and its CSV manifest; a later run that renders more letters makes the
    day's next batch. Files first, then the rows are marked (a crash in between writes the same
    files again)."""
    with engine.connect() as conn:
        rows = store.unprinted(conn, as_of)
        taken = store.print_batches(conn, as_of)
        loans = loan_nos(conn, [r.loan_id for r in rows])
    if not rows:
        return None
    folder = day_dir(settings, as_of)
    batch = write_print_batch(folder, batch_name(as_of.isoformat(), len(taken)), rows, loans)
    crash_point("mailhouse.written")  # the batch PDF and manifest on disk, the letters not marked
    with engine.begin() as conn:
        store.mark_printed(conn, [r.key for r in rows], batch.name, now())
    crash_point("mailhouse.marked")
    discard_chunks(folder, batch)
    return batch


def verify_archive(*, engine: Engine, settings: Settings, as_of: date) -> tuple[int, list[str]]:
    """(letters checked, problems): each rendered letter's file against its recorded sha256."""
    with engine.connect() as conn:
        rows = store.rendered(conn, as_of)
    problems = []
    for r in rows:
        path = settings.resolved_letters_dir / r.path
        try:
            digest = hashlib.sha256(path.read_bytes()).hexdigest()
        except OSError as err:
            problems.append(f"{r.reference}: {path}: {err.strerror}")
            continue
        if digest != r.sha256:
            problems.append(f"{r.reference}: {path}: sha256 {digest} differs from the recorded {r.sha256}")
    return len(rows), problems


def loan_letter(
    *,
    engine: Engine,
    policy: Policy,
    settings: Settings,
    loan_no: str,
    as_of: date,
    template: str | None,
    now: Callable[[], datetime],
) -> Path:
    """The absolute path of the loan's letter for ``as_of``, rendering it if it does not exist yet."""
    try:
        with engine.connect() as conn:
            row, book = loan_and_book(conn, loan_no, as_of)
    except UnknownLoan:
        raise LetterNotProduced(f"no loan {loan_no!r}") from None
    pos = position_for(book, as_of, policy)
    try:
        action, chosen = letter_action(policy, pos.stage, pos.risk, template)
    except NoLetterForStage as err:
        raise LetterNotProduced(str(err)) from None
    key = str(ActionKey("loan", loan_no, action, "letter", as_of))
    source = store.source_from(
        row,
        key=key,
        action=action,
        template=chosen,
        as_of=as_of,
        dpd=pos.dpd,
        overdue=(pos.overdue_principal, pos.overdue_interest, pos.overdue_penalty, pos.overdue_fees, pos.overdue_total),
    )
    with engine.connect() as conn:
        found = store.existing(conn, [key]).get(key)
    if found is None or found.status != RENDERED:
        run = render_letters(
            engine=engine,
            settings=settings,
            letters=[facts_for(source, policy)],
            inline=True,  # one letter: no worker process to start
            now=now,
        )
        if run.failed:
            raise LetterNotProduced(run.failures[0])
        with engine.connect() as conn:
            found = store.existing(conn, [key])[key]
    return Path(settings.resolved_letters_dir / found.path)
