"""The mail-house batch: a day's new letters as one print-ready PDF with a CSV manifest.

The PDF is made of the laid-out chunk documents where a chunk went out whole (each font is
then embedded once per chunk), else of the letters' own files. Files only: which letters go
in a batch, and marking them printed, is the letters step's business.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from arrears.letters.pdf import write_atomically
from arrears.templating.formats import write_csv

MANIFEST_COLUMNS = ("reference", "loan", "borrower", "address", "pages", "first_page", "sha256", "template", "locale")


@dataclass(frozen=True)
class PrintBatch:
    name: str
    pdf: Path
    manifest: Path
    letters: int
    pages: int
    whole_chunks: frozenset[str] = frozenset()  # chunk documents inside the batch PDF (discard once recorded)


def batch_name(as_of_text: str, taken: int) -> str:
    """``mailhouse-<date>-NN``: a later run on the same day makes the next number, never a changed file."""
    return f"mailhouse-{as_of_text}-{taken + 1:02d}"


def write_print_batch(folder: Path, name: str, rows: Sequence[Any], loan_nos: Mapping[int, str]) -> PrintBatch:
    """Write ``<folder>/mailhouse/<name>.pdf`` and ``.csv`` for these letter rows (in order).
    Written again after a crash before the batch was recorded, the files come out the same."""
    from pypdf import PdfReader, PdfWriter  # noqa: PLC0415 - heavy, only when there are letters to print

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
                    "loan": loan_nos.get(m.loan_id, ""),
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
    write_csv(text, MANIFEST_COLUMNS, manifest)
    csv_path = folder / "mailhouse" / f"{name}.csv"
    write_atomically(csv_path, text.getvalue().encode("utf-8"))
    return PrintBatch(name, pdf_path, csv_path, len(rows), page - 1, frozenset(used_chunks))


def discard_chunks(folder: Path, batch: PrintBatch) -> None:
    """Remove the chunk documents now inside the recorded batch PDF."""
    for chunk in batch.whole_chunks:
        (folder / "chunks" / f"{chunk}.pdf").unlink(missing_ok=True)


def _chunk_refs(path: Path) -> list[str]:
    """References of the letters in a chunk PDF, in page order (from their anchors' named destinations)."""
    from pypdf import PdfReader  # noqa: PLC0415 - heavy, only when there are letters to print

    reader = PdfReader(path)
    dests = reader.named_destinations
    pairs = sorted((reader.get_destination_page_number(d), str(n)) for n, d in dests.items())
    return [n for _, n in pairs]
