"""Benchmark: demand letters per second, naive against batched and pooled.

    python -m bench.letters [--letters N] [--workers W] [--chunk C] [--naive N0]

Both paths render the same N letters (default 2,000; Chinese and English mixed, the three
letter kinds) from the shipped templates with the configured CJK font:
  naive    one WeasyPrint document per letter, written as its own PDF, one process —
           what a straightforward loop does (timed on the first N0 letters, default all);
  batched  the production path: chunks of C letters laid out as one document each, spread
           over W worker processes (spawned, recycled), split into one PDF per letter with
           pypdf with fonts of its own glyphs only (``arrears.letters.fonts``), plus the chunk
           PDFs the mail-house batch is made of.
Prints letters/s of each, the ratio (target on 2 cores: >= 10x), KB per letter file (mean
and largest; target <= 40 KB) and per letter in the print batch (target <= 40 KB), and the
workers' peak RSS.
"""

from __future__ import annotations

import argparse
import os
import resource
import tempfile
import time
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

from arrears.letters.chunks import chunk_name, chunked, run_chunks
from arrears.letters.facts import LetterFacts, reference_for
from arrears.letters.html import stylesheet
from arrears.letters.pdf import ChunkJob, build_html, layout
from arrears.settings import Settings
from arrears.templating.lender import letterhead_from

AS_OF = date(2026, 11, 23)
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英"
CITIES = [
    "北京市朝阳区建国路",
    "上海市浦东新区张杨路",
    "广州市天河区天河路",
    "成都市武侯区人民南路",
    "杭州市西湖区文三路",
]
KINDS = ("m2_demand_letter", "m3_final_demand", "pre_litigation_notice")


def sample_letters(n: int) -> list[LetterFacts]:
    out = []
    for i in range(n):
        zh = i % 3 != 2
        template = KINDS[i % 3]
        key = f"loan:LN{i:08d}:{template}:letter:{AS_OF}"
        principal = Decimal(1000 + (i * 7919) % 90000) + Decimal(i % 100) / 100
        interest, penalty, fees = principal * Decimal("0.08"), Decimal(i % 997) / 10, Decimal("50.00")
        interest = interest.quantize(Decimal("0.01"))
        out.append(
            LetterFacts(
                key=key,
                reference=reference_for(key, template, AS_OF),
                template=template,
                locale="zh_CN" if zh else "en_US",
                letter_date=AS_OF,
                deadline=AS_OF + timedelta(days=15),
                dispute_by=AS_OF + timedelta(days=15),
                borrower_id=f"B{i:07d}",
                borrower_name=(
                    SURNAMES[i % len(SURNAMES)] + GIVEN[i % len(GIVEN)] + GIVEN[(i // len(GIVEN)) % len(GIVEN)]
                )
                if zh
                else f"Jordan Miller {i}",
                address=f"{CITIES[i % 5]}{i % 999 + 1}号{i % 30 + 1}栋{i % 2000 + 101}室"
                if zh
                else f"{i % 9000 + 100} Main Street, Springfield",
                loan_id=i,
                loan_no=f"LN{i:08d}",
                contract_date=date(2025, 1 + i % 12, 1 + i % 28),
                product="default",
                currency="CNY",
                principal_amount=principal * 3,
                penalty_rate_daily=Decimal("0.0005"),
                dpd=31 + i % 150,
                overdue_principal=principal,
                overdue_interest=interest,
                overdue_penalty=penalty,
                overdue_fees=fees,
                overdue_total=principal + interest + penalty + fees,
                clause="《借款合同》第八条（逾期还款）" if zh else "Article 8 (Late Payment) of the Loan Agreement",
            )
        )
    return out


def naive_one(job: ChunkJob) -> int:
    """One letter, one document, one write_pdf: the straightforward loop's unit of work."""
    html, good, _ = build_html(job)
    data: bytes = layout(html, stylesheet(job.font), job.templates).write_pdf()
    path = Path(job.day_dir) / f"{good[0].reference}.pdf"
    path.write_bytes(data)
    return len(data)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--letters", type=int, default=2000)
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--chunk", type=int, default=Settings().letter_chunk)
    ap.add_argument("--naive", type=int, default=0, help="time the naive loop on this many letters (0 = all)")
    args = ap.parse_args()
    settings = Settings(letter_workers=args.workers, letter_chunk=args.chunk)
    lender = letterhead_from(settings)
    letters = sample_letters(args.letters)
    print(f"{len(letters)} letters, font {settings.letter_font!r}, chunk {args.chunk}, {args.workers} workers")

    with tempfile.TemporaryDirectory() as tmp:
        naive_dir = Path(tmp) / "naive"
        naive_dir.mkdir()
        sample = letters[: args.naive or len(letters)]
        naive_one(ChunkJob("warm", (sample[0],), lender, str(naive_dir), settings.letter_font, "Asia/Shanghai"))
        t0 = time.perf_counter()
        naive_bytes = 0
        for f in sample:
            job = ChunkJob(f.reference, (f,), lender, str(naive_dir), settings.letter_font, "Asia/Shanghai")
            naive_bytes += naive_one(job)
        naive_s = time.perf_counter() - t0
        naive_rate = len(sample) / naive_s
        naive_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(
            f"naive:   {len(sample)} letters in {naive_s:.1f} s = {naive_rate:.1f} letters/s, "
            f"{naive_bytes / len(sample) / 1024:.1f} KB/letter, peak RSS {naive_rss:.0f} MB"
        )

        out_dir = Path(tmp) / "batched"
        jobs = [
            ChunkJob(chunk_name(c), c, lender, str(out_dir), settings.letter_font, settings.lender_timezone)
            for c in chunked(letters, args.chunk)
        ]
        t0 = time.perf_counter()  # includes spawning the workers and their first WeasyPrint import
        results = list(run_chunks(jobs, settings))
        batched_s = time.perf_counter() - t0
        files = [f for r in results for f in r.files]
        assert len(files) == len(letters), [x.error for r in results for x in r.failures][:3]
        per_letter_kb = sum(f.size_bytes for f in files) / len(files) / 1024
        largest_kb = max(f.size_bytes for f in files) / 1024
        chunk_kb = sum((out_dir / p).stat().st_size for r in results for p in r.chunk_pdfs.values()) / len(files) / 1024
        batched_rate = len(files) / batched_s
        print(
            f"batched: {len(files)} letters in {batched_s:.1f} s = {batched_rate:.1f} letters/s, "
            f"worker peak RSS {max(r.peak_rss_mb for r in results):.0f} MB"
        )
        print(
            f"letter files: {per_letter_kb:.1f} KB mean, {largest_kb:.1f} KB largest; print batch: "
            f"{chunk_kb:.1f} KB per letter (target <= 40 KB each)"
        )
        print(f"ratio batched/naive: {batched_rate / naive_rate:.1f}x (target >= 10x on 2 cores)")


if __name__ == "__main__":
    main()
