"""Render a chunk of letters in one WeasyPrint document, then split it into one PDF per
letter. Runs in worker processes: WeasyPrint is imported here, inside the worker.

Why a chunk: laying out and writing one document of 100 letters costs a fraction of 100
documents (fonts are loaded and subset once per document). Each letter's pages are found
from its section's anchor, copied into a PDF of its own (pypdf), its fonts cut down to its own
glyphs (``arrears.letters.fonts``), and written atomically.

Determinism: the chunk's HTML, its CSS and the PDF metadata come from the letters' data
and the letter date only (no clock, no random ids), so rendering the same chunk again
gives the same bytes for every letter; ``Letter.chunk`` records which letters a file
was laid out with.
"""

from __future__ import annotations

import contextlib
import gc
import hashlib
import io
import os
import resource
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from arrears.faults import crash_point
from arrears.letters.facts import LetterDataError, LetterFacts, check_facts
from arrears.letters.html import LETTERS, created_stamp, document, section, stylesheet
from arrears.templating.lender import Letterhead


@dataclass(frozen=True, slots=True)
class ChunkJob:
    name: str  # unique per day: the chunk PDF's file name (without .pdf)
    letters: tuple[LetterFacts, ...]
    lender: Letterhead
    day_dir: str  # absolute: <letters_dir>/<as_of>
    font: str
    timezone: str
    templates: str = str(LETTERS)


@dataclass(frozen=True, slots=True)
class LetterFile:
    key: str
    reference: str
    path: str  # relative to the day's directory
    sha256: str
    pages: int
    size_bytes: int
    chunk: str  # the document it was laid out in


@dataclass(frozen=True, slots=True)
class LetterFailure:
    key: str
    reference: str
    error: str
    archive: bool = False  # the archive could not be written (a full disk, a read-only folder): not the letter's fault


@dataclass
class ChunkResult:
    name: str
    files: list[LetterFile] = field(default_factory=list)
    failures: list[LetterFailure] = field(default_factory=list)
    chunk_pdfs: dict[str, str] = field(default_factory=dict)  # chunk -> its PDF, relative to the day's directory
    seconds: float = 0.0
    peak_rss_mb: float = 0.0


def build_html(job: ChunkJob) -> tuple[str, list[LetterFacts], list[LetterFailure]]:
    """The chunk's HTML with the letters whose data is good; the others as failures."""
    root = Path(job.templates)
    good: list[LetterFacts] = []
    sections: list[str] = []
    failures: list[LetterFailure] = []
    for f in job.letters:
        try:
            check_facts(f)
            sections.append(section(f, job.lender, root))
        except LetterDataError as err:
            failures.append(LetterFailure(f.key, f.reference, str(err)))
            continue
        good.append(f)
    if not good:
        return "", good, failures
    first = good[0]
    html = document(
        sections,
        title=first.reference if len(good) == 1 else f"{job.name} ({len(good)} letters)",
        author=job.lender.name(first.locale),
        created=created_stamp(first.letter_date, job.timezone),
        lang="zh-CN" if first.locale == "zh_CN" else "en-US",
        root=root,
    )
    return html, good, failures


UA_ELEMENTS = frozenset(
    {"html", "head", "title", "meta", "body", "section", "div", "p", "h1", "table", "tbody", "tr"}
    | {"td", "th", "b", "strong", "br", "img"}
)


@lru_cache(maxsize=4)
def _letter_html_class(ua_path: str) -> Any:
    """WeasyPrint's HTML with the letters' own small user-agent stylesheet (``ua.css``)."""
    from weasyprint import CSS, HTML  # type: ignore[import-untyped]  # noqa: PLC0415 - imported in the worker

    ua = CSS(filename=ua_path)

    class LetterHTML(HTML):  # type: ignore[misc]
        def _ua_stylesheets(self, forms: bool = False) -> list[Any]:
            return [ua]

    return LetterHTML


def layout(html: str, css: str, templates: str) -> Any:
    """Lay out a document of letters; ``templates`` is the letters' template folder (base URL, ``ua.css``)."""
    from weasyprint import CSS  # noqa: PLC0415 - imported in the worker process

    letter_html = _letter_html_class(str(Path(templates) / "ua.css"))
    return letter_html(string=html, base_url=templates).render(stylesheets=[CSS(string=css)])


def page_ranges(doc: Any, references: Sequence[str]) -> dict[str, tuple[int, int]]:
    """Each letter's [first, last+1) page in the document, from its section's anchor."""
    wanted = set(references)
    first: dict[str, int] = {}
    for number, page in enumerate(doc.pages):
        for anchor in page.anchors:  # a section split over pages is anchored on each: keep the first
            if anchor in wanted:
                first.setdefault(anchor, number)
    starts = sorted((number, ref) for ref, number in first.items())
    if [r for _, r in starts] != list(references):
        raise RuntimeError(f"letters out of order or missing in the layout: {len(starts)} of {len(references)}")
    ends = [n for n, _ in starts[1:]] + [len(doc.pages)]
    return {ref: (start, end) for (start, ref), end in zip(starts, ends, strict=True)}


def pdf_date(stamp: str) -> str:
    """ISO timestamp -> PDF date string (D:YYYYMMDDHHmmSS+HH'mm')."""
    dt = datetime.fromisoformat(stamp)
    offset = dt.strftime("%z")
    return f"D:{dt:%Y%m%d%H%M%S}{offset[:3]}'{offset[3:]}'"


def split(pdf: bytes, ranges: dict[str, tuple[int, int]], metadata: dict[str, dict[str, str]]) -> dict[str, bytes]:
    from pypdf import PdfReader  # noqa: PLC0415 - imported in the worker process

    from arrears.letters.fonts import ChunkFonts, copy_letter  # noqa: PLC0415 - pypdf, in the worker process

    reader = PdfReader(io.BytesIO(pdf))
    fonts = ChunkFonts()
    out = {}
    for ref, (start, end) in ranges.items():
        writer = copy_letter([reader.pages[n] for n in range(start, end)], fonts)  # its own glyphs only
        writer.add_metadata(metadata[ref])
        buf = io.BytesIO()
        writer.write(buf)
        out[ref] = buf.getvalue()
    return out


class ArchiveUnwritable(OSError):
    """A file of the archive could not be written; names the directory and the reason."""


def write_atomically(path: Path, data: bytes) -> None:
    """Write ``path`` whole or not at all (a temporary file beside it, then a rename); a failure
    (a full disk, a read-only directory) leaves no partial file behind and names the directory."""
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_bytes(data)
        os.replace(tmp, path)
    except OSError as err:
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)
        raise ArchiveUnwritable(err.errno, f"cannot write to {path.parent}: {err.strerror}") from err


def warm_worker(font: str, templates: str = str(LETTERS)) -> None:
    """Pool initializer: import WeasyPrint and load the letters' font once, then freeze what
    is alive so far (modules, font and style caches) out of the cyclic collector's reach: the
    full collection after each chunk then walks the chunk's objects, not the whole heap."""
    layout("<p>字 A</p>", stylesheet(font, Path(templates)), templates).write_pdf()
    gc.collect()
    gc.freeze()


def render_chunk(job: ChunkJob) -> ChunkResult:
    """Lay out the chunk, write one PDF per letter and the chunk PDF. A letter with bad data
    fails alone; if the layout itself fails, each letter is tried on its own."""
    t0 = time.perf_counter()
    gc_was = gc.isenabled()
    gc.disable()  # layout allocates millions of small objects; collect once at the end
    try:
        result = _render(job)
    finally:
        if gc_was:
            gc.enable()
        gc.collect()
    result.seconds = time.perf_counter() - t0
    result.peak_rss_mb = peak_rss_mb()
    return result


def peak_rss_mb() -> float:
    """This process's peak resident memory (VmHWM; unlike ru_maxrss it does not carry the
    high-water mark of the parent a spawned worker was forked from)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _render(job: ChunkJob) -> ChunkResult:
    result = ChunkResult(job.name)
    html, good, failures = build_html(job)
    result.failures.extend(failures)
    if not good:
        return result
    try:
        doc = layout(html, stylesheet(job.font, Path(job.templates)), job.templates)
        ranges = page_ranges(doc, [f.reference for f in good])
        pdf = doc.write_pdf()
    except Exception as err:  # noqa: BLE001 - isolate the letter that breaks the layout
        if len(good) == 1:
            f = good[0]
            result.failures.append(LetterFailure(f.key, f.reference, f"letter {f.reference}: layout: {err}"))
            return result
        for f in good:
            single = _render(_alone(job, f))
            result.files.extend(single.files)
            result.failures.extend(single.failures)
            result.chunk_pdfs.update(single.chunk_pdfs)
        return result
    day_dir = Path(job.day_dir)
    stamp = pdf_date(created_stamp(good[0].letter_date, job.timezone))
    metadata = {
        f.reference: {
            "/Title": f.reference,
            "/Author": job.lender.name(f.locale),
            "/Subject": f"{f.template} {f.loan_no}",
            "/Creator": "Arrears",
            "/Producer": "Arrears (WeasyPrint, pypdf)",
            "/CreationDate": stamp,
            "/ModDate": stamp,
        }
        for f in good
    }
    parts = split(pdf, ranges, metadata)
    for i, f in enumerate(good):
        data = parts[f.reference]
        name = f"{f.reference}.pdf"
        try:
            write_atomically(day_dir / name, data)
        except ArchiveUnwritable as err:  # this letter and the rest of the chunk: not produced, retried next run
            result.failures += [
                LetterFailure(g.key, g.reference, f"letter {g.reference}: {err}", archive=True) for g in good[i:]
            ]
            return result
        start, end = ranges[f.reference]
        result.files.append(
            LetterFile(f.key, f.reference, name, hashlib.sha256(data).hexdigest(), end - start, len(data), job.name)
        )
        if i == 0 and len(good) > 1:
            crash_point("letters.mid_chunk")  # one letter of the chunk on disk, the others not yet
    chunk_pdf = f"chunks/{job.name}.pdf"
    with contextlib.suppress(ArchiveUnwritable):  # without it the mail house takes the letters' own files
        write_atomically(day_dir / chunk_pdf, pdf)
        result.chunk_pdfs[job.name] = chunk_pdf
    return result


def _alone(job: ChunkJob, f: LetterFacts) -> ChunkJob:
    return ChunkJob(f"{job.name}-{f.reference}", (f,), job.lender, job.day_dir, job.font, job.timezone, job.templates)
