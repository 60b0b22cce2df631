"""A day's letters: gather what the planned letter actions must state, lay them out in
chunks over a process pool, archive each PDF with its checksum, and put the new ones in a
print-ready mail-house batch with its manifest. No Prefect here: tasks and the CLI call it.

Files live under ``<letters_dir>/<as_of>/``: one ``<reference>.pdf`` per letter,
``chunks/`` (the laid-out documents, until they are in a mail-house batch) and
``mailhouse/<batch>.pdf`` + ``<batch>.csv``.
"""

from __future__ import annotations

import csv
import hashlib
import io
import multiprocessing
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from arrears.letters.facts import LetterFacts, Letterhead, letter_deadline, reference_for
from arrears.letters.pdf import ChunkJob, ChunkResult, render_chunk, warm_worker, write_atomically
from arrears.policy import Policy
from arrears.settings import Settings
from arrears.store import letters as store
from arrears.store.letters import LetterSource
from models.letter import FAILED, RENDERED


def letterhead_from(s: Settings) -> Letterhead:
    return Letterhead(
        name_zh=s.lender_name_zh,
        name_en=s.lender_name_en,
        address_zh=s.lender_address_zh,
        address_en=s.lender_address_en,
        hotline=s.lender_hotline,
        email=s.lender_email,
        pay_url=s.lender_pay_url,
        bank_name_zh=s.lender_bank_name_zh,
        bank_name_en=s.lender_bank_name_en,
        bank_account=s.lender_bank_account,
    )


def facts_for(src: LetterSource, policy: Policy) -> LetterFacts:
    """The letter an action calls for, dated its day, with the product's clause and the policy's deadlines."""
    principal, interest, penalty, fees, total = src.overdue
    return LetterFacts(
        key=src.key,
        reference=reference_for(src.key, src.template, src.as_of),
        template=src.template,
        locale=src.locale,
        letter_date=src.as_of,
        deadline=letter_deadline(src.as_of, policy.letters.deadline_days),
        dispute_by=letter_deadline(src.as_of, policy.letters.dispute_days),
        borrower_id=src.borrower_id,
        borrower_name=src.name,
        address=src.address or "",
        loan_id=src.loan_id,
        loan_no=src.loan_no,
        contract_date=src.contract_date,
        product=src.product,
        currency=src.currency,
        principal_amount=src.principal,
        penalty_rate_daily=src.penalty_rate_daily,
        dpd=src.dpd,
        overdue_principal=principal,
        overdue_interest=interest,
        overdue_penalty=penalty,
        overdue_fees=fees,
        overdue_total=total,
        clause=policy.product(src.product).clause_for(src.locale),
    )


def chunked(letters: Sequence[LetterFacts], size: int) -> list[tuple[LetterFacts, ...]]:
    """Chunks in key order; the same letters always form the same chunks."""
    ordered = sorted(letters, key=lambda f: f.key)
    return [tuple(ordered[i : i + size]) for i in range(0, len(ordered), size)]


def chunk_name(letters: Sequence[LetterFacts]) -> str:
    digest = hashlib.sha256("\n".join(f.key for f in letters).encode()).hexdigest()[:12]
    return f"{letters[0].letter_date:%Y%m%d}-{digest}"


def day_dir(settings: Settings, as_of: date) -> Path:
    return settings.resolved_letters_dir / as_of.isoformat()


def run_chunks(jobs: Sequence[ChunkJob], settings: Settings, *, inline: bool = False) -> Iterator[ChunkResult]:
    """Render the chunks in spawned worker processes (no inherited threads), in order.

    Workers are replaced every ``letter_worker_chunks`` chunks so WeasyPrint's font memory
    does not grow without bound: each wave of chunks gets a fresh pool. (Not
    ``max_tasks_per_child``: on Python 3.11 a pool replacing its workers can hang for good,
    which we saw in the benchmark.)"""
    if inline or settings.letter_workers <= 1:
        for job in jobs:
            yield render_chunk(job)
        return
    wave = settings.letter_workers * settings.letter_worker_chunks
    for start in range(0, len(jobs), wave):
        part = jobs[start : start + wave]
        workers = min(settings.letter_workers, len(part))
        with ProcessPoolExecutor(
            workers,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=warm_worker,
            initargs=(part[0].font, part[0].templates),
        ) as pool:
            futures = [pool.submit(render_chunk, job) for job in part]
            for future in futures:
                yield future.result()


@dataclass
class LetterRun:
    rendered: int = 0
    failed: int = 0
    failures: list[str] = field(default_factory=list)  # "reference: error", for the log and the summary
    pages: int = 0
    bytes: int = 0
    seconds: float = 0.0
    peak_rss_mb: float = 0.0


def render_letters(
    *,
    engine: Engine,
    policy: Policy,
    settings: Settings,
    letters: Sequence[LetterFacts],
    now: Callable[[], datetime],
    inline: bool = False,
) -> LetterRun:
    """Render these letters (all of one day) and record them; a letter already rendered is left alone."""
    run = LetterRun()
    if not letters:
        return run
    as_of = letters[0].letter_date
    with engine.connect() as conn:
        done = {k for k, r in store.existing(conn, [f.key for f in letters]).items() if r.status == RENDERED}
    todo = [f for f in letters if f.key not in done]
    folder = day_dir(settings, as_of)
    jobs = [
        ChunkJob(
            chunk_name(c), c, letterhead_from(settings), str(folder), settings.letter_font, settings.lender_timezone
        )
        for c in chunked(todo, settings.letter_chunk)
    ]
    by_key = {f.key: f for f in todo}
    for result in run_chunks(jobs, settings, inline=inline):
        _record(engine, as_of, by_key, result, now())
        run.rendered += len(result.files)
        run.failed += len(result.failures)
        run.failures.extend(fail.error for fail in result.failures)
        run.pages += sum(f.pages for f in result.files)
        run.bytes += sum(f.size_bytes for f in result.files)
        run.seconds += result.seconds
        run.peak_rss_mb = max(run.peak_rss_mb, result.peak_rss_mb)
    return run


def _record(engine: Engine, as_of: date, by_key: dict[str, LetterFacts], result: ChunkResult, now: datetime) -> None:
    rows = []
    for file in result.files:
        rows.append(
            _row(by_key[file.key], RENDERED)
            | {
                "path": f"{as_of.isoformat()}/{file.path}",
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


def _row(f: LetterFacts, status: str) -> dict[str, Any]:
    return {
        "key": f.key,
        "reference": f.reference,
        "as_of": f.letter_date,
        "loan_id": f.loan_id,
        "borrower_id": f.borrower_id,
        "template": f.template,
        "locale": f.locale,
        "addressee": f.borrower_name,
        "address": f.address,
        "currency": f.currency,
        "dpd": f.dpd,
        "principal": f.overdue_principal,
        "interest": f.overdue_interest,
        "penalty": f.overdue_penalty,
        "fees": f.overdue_fees,
        "total": f.overdue_total,
        "deadline": f.deadline,
        "status": status,
        "error": None,
        "path": None,
        "sha256": None,
        "pages": None,
        "size_bytes": None,
        "chunk": None,
    }


MANIFEST_COLUMNS = ("reference", "loan", "borrower", "address", "pages", "first_page", "sha256", "template", "locale")


@dataclass(frozen=True)
class PrintBatch:
    name: str
    pdf: Path
    manifest: Path
    letters: int
    pages: int


def assemble_print_batch(
    *, engine: Engine, settings: Settings, as_of: date, now: Callable[[], datetime]
) -> PrintBatch | None:
    """Put the day's rendered letters that are in no mail-house batch yet into a new one: one
    print-ready PDF (the laid-out chunks, so each font is embedded once per chunk) and a CSV
    manifest. A later run that renders more letters makes the day's next batch."""
    from pypdf import PdfReader, PdfWriter  # noqa: PLC0415

    with engine.connect() as conn:
        rows = store.unprinted(conn, as_of)
        taken = store.print_batches(conn, as_of)
        loans = store.loan_nos(conn, [r.loan_id for r in rows])
    if not rows:
        return None
    folder = day_dir(settings, as_of)
    name = f"mailhouse-{as_of.isoformat()}-{len(taken) + 1:02d}"
    writer = PdfWriter()
    manifest: list[dict[str, Any]] = []
    used_chunks: set[str] = set()
    by_chunk: dict[str | None, list[Any]] = {}
    for r in rows:
        by_chunk.setdefault(r.chunk, []).append(r)
    page = 1
    for chunk, members in by_chunk.items():
        chunk_pdf = folder / "chunks" / f"{chunk}.pdf"
        whole = chunk is not None and chunk_pdf.exists() and _chunk_refs(chunk_pdf) == [m.reference for m in members]
        for path in [chunk_pdf] if whole else [folder.parent / m.path for m in members]:
            writer.append(PdfReader(path))
        if whole:
            used_chunks.add(str(chunk))
        for m in members:
            manifest.append(
                {
                    "reference": m.reference,
                    "loan": loans.get(m.loan_id, ""),
                    "borrower": m.addressee,  # as printed on the letter
                    "address": m.address,
                    "pages": m.pages,
                    "first_page": page,
                    "sha256": m.sha256,
                    "template": m.template,
                    "locale": m.locale,
                }
            )
            page += m.pages
    buf = io.BytesIO()
    writer.write(buf)
    pdf_path = folder / "mailhouse" / f"{name}.pdf"
    write_atomically(pdf_path, buf.getvalue())
    text = io.StringIO()
    out = csv.DictWriter(text, fieldnames=MANIFEST_COLUMNS, lineterminator="\n")
    out.writeheader()
    out.writerows(manifest)
    csv_path = folder / "mailhouse" / f"{name}.csv"
    write_atomically(csv_path, text.getvalue().encode("utf-8"))
    with engine.begin() as conn:
        store.mark_printed(conn, [r.key for r in rows], name, now())
    for chunk in used_chunks:  # now inside the mail-house PDF
        (folder / "chunks" / f"{chunk}.pdf").unlink(missing_ok=True)
    return PrintBatch(name, pdf_path, csv_path, len(rows), page - 1)


def _chunk_refs(path: Path) -> list[str]:
    """References of the letters in a chunk PDF, in page order (from their anchors' named destinations)."""
    from pypdf import PdfReader  # noqa: PLC0415

    reader = PdfReader(path)
    dests = reader.named_destinations
    pairs = sorted((reader.get_destination_page_number(d), str(n)) for n, d in dests.items())
    return [n for _, n in pairs]


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
