"""Letters laid out in chunks over a pool of spawned worker processes.

Chunks are formed in key order, so the same letters always form the same chunks (and, laid
out again, give the same bytes). Workers are replaced every ``letter_worker_chunks`` chunks so
WeasyPrint's font memory does not grow without bound: each wave of chunks gets a fresh pool.
(Not ``max_tasks_per_child``: on Python 3.11 a pool replacing its workers can hang for good,
which we saw in the benchmark.)
"""

from __future__ import annotations

import hashlib
import multiprocessing
from collections.abc import Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from datetime import date
from pathlib import Path

from arrears.letters.facts import LetterFacts
from arrears.letters.pdf import ChunkJob, ChunkResult, render_chunk, warm_worker
from arrears.settings import Settings
from arrears.templating.lender import letterhead_from


def chunked(letters: Sequence[LetterFacts], size: int) -> list[tuple[LetterFacts, ...]]:
    """Chunks in key order; the same letters always form the same chunks."""
    ordered = sorted(letters, key=lambda f: f.key)
    return [tuple(ordered[i : i + size]) for i in range(0, len(ordered), size)]


def chunk_name(letters: Sequence[LetterFacts]) -> str:
    digest = hashlib.sha256("\n".join(f.key for f in letters).encode()).hexdigest()[:12]
    return f"{letters[0].letter_date:%Y%m%d}-{digest}"


def day_dir(settings: Settings, as_of: date) -> Path:
    """Where a day's letters are archived: ``<letters_dir>/<as_of>/``."""
    return settings.resolved_letters_dir / as_of.isoformat()


def chunk_jobs(letters: Sequence[LetterFacts], settings: Settings) -> list[ChunkJob]:
    """The layout jobs for letters of one day."""
    if not letters:
        return []
    folder = str(day_dir(settings, letters[0].letter_date))
    head = letterhead_from(settings)
    return [
        ChunkJob(chunk_name(c), c, head, folder, settings.letter_font, settings.lender_timezone)
        for c in chunked(letters, settings.letter_chunk)
    ]


def run_chunks(jobs: Sequence[ChunkJob], settings: Settings, *, inline: bool = False) -> Iterator[ChunkResult]:
    """Render the chunks in spawned worker processes (no inherited threads), in order."""
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
