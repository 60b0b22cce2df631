"""The collections report: figures right on a small book, charts, HTML and PDF, and the daily
run links it (and the mail-house batch) as artifacts."""

from __future__ import annotations

import time
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pypdf
import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from arrears.cli import app
from arrears.db import make_engine
from arrears.demo.synthetic import generate_book
from arrears.settings import get_settings
from arrears.steps.importing import import_book
from arrears.store import metrics
from flows.daily import daily_collection
from tests.factories import GOOD_BORROWER, GOOD_INSTALLMENTS, GOOD_LOAN, write_book

AS_OF = date(2026, 11, 23)


def test_cure_rate_cycle_and_promise_kept_rate_count_what_happened_in_the_period(fresh_db, tmp_path):
    book = write_book(tmp_path / "b", borrowers=[GOOD_BORROWER], loans=[GOOD_LOAN], installments=GOOD_INSTALLMENTS)
    import_book(engine=fresh_db, directory=book)
    t = datetime.now(UTC)
    with fresh_db.begin() as conn:
        for opened, closed, reason in (("2026-03-06", "2026-03-16", "cured"), ("2026-04-06", "2026-04-26", "cured"),
                                       ("2026-05-06", None, None)):  # fmt: skip
            conn.execute(
                text(
                    "INSERT INTO collection_case (loan_id, opened_on, opened_stage, stage, status, closed_on,"
                    " close_reason, created_at, updated_at) VALUES (1, :o, 'M1', 'M1', :s, :c, :r, :t, :t)"
                ),
                {"o": date.fromisoformat(opened), "c": closed and date.fromisoformat(closed), "r": reason,
                 "s": "closed" if closed else "open", "t": t},
            )  # fmt: skip
        for n, status in enumerate(("kept", "kept", "broken", "partly_kept")):
            conn.execute(
                text(
                    "INSERT INTO promise (loan_id, made_on, promised_on, amount, status, judged_on, source, note,"
                    " actor, created_at) VALUES (1, :m, :p, 10000, :s, '2026-04-20', 'call', '', 'li.na', :t)"
                ),
                {"m": date(2026, 4, 1), "p": date(2026, 4, 10 + n), "s": status, "t": t},
            )
    with fresh_db.connect() as conn:
        cures = metrics.cures(conn, date(2026, 3, 1), date(2026, 4, 30))
        assert (cures.cured, cures.cases, cures.cycle_days) == (2, 2, 15)  # (10 + 20) / 2 days; May's case is later
        assert metrics.promise_verdicts(conn, date(2026, 4, 1), date(2026, 4, 30)) == {
            "kept": 2, "broken": 1, "partly_kept": 1
        }  # fmt: skip


def _artifacts(key: str) -> list:  # type: ignore[no-untyped-def]
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey

    with get_client(sync_client=True) as client:
        return client.read_artifacts(artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=[key])))


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)  # the figures SQL runs on both in the test above
def test_the_daily_run_links_its_report_and_print_batch_and_the_cli_writes_both_files(
    prefect_harness, providers, tmp_path, monkeypatch
):
    engine = make_engine(get_settings().resolved_database_url)
    generate_book(tmp_path / "book", loans=300, as_of=AS_OF, seed=11, bad_rows=False)
    import_book(engine=engine, directory=tmp_path / "book")
    for d in (AS_OF - timedelta(days=1), AS_OF):
        now = datetime(d.year, d.month, d.day, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
        if d == AS_OF:
            monkeypatch.setenv("ARREARS_DAILY_REPORT", "true")
            get_settings.cache_clear()
        state = daily_collection(as_of=d, now=now, return_state=True)
        assert state.is_completed()
    run_id = state.state_details.flow_run_id

    def mine(key: str) -> list:  # type: ignore[type-arg]
        return [a for a in _artifacts(key) if a.flow_run_id == run_id]

    deadline = time.monotonic() + 30  # artifacts reach the server asynchronously
    while time.monotonic() < deadline and not (mine("collections-report") and mine("print-batch")):
        time.sleep(0.5)
    [link] = mine("collections-report")
    [batch] = mine("print-batch")
    assert "report.html" in link.data and f"/letters/{AS_OF}/mailhouse/" in batch.data
    while time.monotonic() < deadline and not mine("collections-report-figures"):
        time.sleep(0.5)
    [figures] = mine("collections-report-figures")  # the figures, readable in the UI from any machine
    assert figures.data.startswith(f"# {get_settings().lender_name_en} · Collections report")
    assert f"## Roll rates {AS_OF - timedelta(days=1)} → {AS_OF}" in figures.data and "%)" in figures.data

    result = CliRunner().invoke(app, ["report", "--as-of", str(AS_OF), "--from", str(AS_OF - timedelta(days=1))])
    assert result.exit_code == 0, result.output
    html, pdf = result.output.split()
    assert html.endswith("report.html") and pdf.endswith("report.pdf") and html.startswith("/")
    reader = pypdf.PdfReader(pdf)
    words = " ".join(page.extract_text() for page in reader.pages)
    for heading in ("cure rate", "promise kept rate", "Stage distribution", "Roll rates", "Contacts per cure",
                    "Suppression reasons", "recovery M1"):  # fmt: skip
        assert heading in words
    assert sum(len(page.images) for page in reader.pages) >= 5  # the five charts (and their alpha masks)
    assert CliRunner().invoke(app, ["report", "--as-of", "2026-11-01", "--from", "2026-11-23"]).exit_code == 2


def test_charts_show_missing_figures_as_no_data_counts_as_integers_and_roll_rates_as_shares(tmp_path):
    from arrears.reports import charts
    from arrears.reports.build import Letterhead, ReportFigures, write_report
    from arrears.reports.published import report_link, report_markdown
    from arrears.store.metrics import Cures

    stages = ["current", "M1", "M2"]
    matrix = {("current", "current"): 90, ("current", "M1"): 10, ("M1", "M1"): 3, ("M1", "M2"): 1}
    assert charts.roll_shares(matrix, stages) == [[0.9, 0.1, 0.0], [0.0, 0.75, 0.25], [None, None, None]]
    figures = ReportFigures(
        first=AS_OF - timedelta(days=1), last=AS_OF, stages=stages,
        series={AS_OF: {"current": 90, "M1": 13, "M2": 1}}, prev=AS_OF - timedelta(days=1), matrix=matrix,
        recovery=[], cures=Cures(0, 0, None), promises={}, per_cure={}, suppressed={"quiet_hours": 33},
    )  # fmt: skip
    assert figures.rates() == {"cure rate": None, "promise kept rate": None}  # nothing to divide: not 0 %
    logo = tmp_path / "logo.png"
    logo.write_bytes(charts.bars({"x": 1}, "logo"))
    files = write_report(figures, tmp_path / "reports", letterhead=Letterhead("Anxin Lending", logo))
    html = files.html.read_text()
    assert "Anxin Lending · Collections report" in html and 'class="logo"' in html
    assert "no promise judged" in html and "no case in the period" in html
    assert "<td>3 (75.0%)</td>" in html and "<td>1 (25.0%)</td>" in html  # roll rates: count and share
    words = " ".join(p.extract_text() for p in pypdf.PdfReader(files.pdf).pages)
    assert "0.0 %" not in words
    link = report_link(files, tmp_path / "reports", "http://ops.example:4201")
    assert link == f"http://ops.example:4201/{AS_OF}/report.html"
    markdown = report_markdown(figures, files, link, "Anxin Lending")
    assert "| cure rate | no data |" in markdown and "| promise kept rate | no data |" in markdown
    assert "| quiet_hours | 33 |" in markdown and "| M1 | 0 (0.0%) | 3 (75.0%) | 1 (25.0%) | 4 |" in markdown
