"""Build the collections report for ``[first, last]``: figures from the database, charts as
PNG, one HTML file (charts embedded and beside it) and the same page as a PDF (WeasyPrint).

``arrears report --as-of D [--from D0]`` and the daily flow's ``report`` step call
:func:`write_report`; the files go to ``<var>/reports/<D>/``.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from sqlalchemy import Engine

from arrears.policy import Policy
from arrears.reports import charts
from arrears.store import metrics
from arrears.store.reports import recovery_by_stage, roll_rates

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"
DEFAULT_DAYS = 30


@dataclass(frozen=True)
class ReportFiles:
    html: Path
    pdf: Path


def write_report(
    engine: Engine, policy: Policy, out_dir: Path, last: date, first: date | None = None, now: datetime | None = None
) -> ReportFiles:
    first = first or last - timedelta(days=DEFAULT_DAYS - 1)
    if first > last:
        raise ValueError(f"the report starts ({first}) after it ends ({last})")
    stages = list(policy.stage_rules.names)
    with engine.connect() as conn:
        series = metrics.stage_series(conn, first, last)
        prev, matrix = roll_rates(conn, last)
        start = min(series) if series else None  # the first run day of the period
        _, recovery = recovery_by_stage(conn, last, since=start) if start and start < last else (None, [])
        cures = metrics.cures(conn, first, last)
        promises = metrics.promise_verdicts(conn, first, last)
        per_cure = metrics.contacts_per_cure(conn, first, last)
        suppressed = metrics.suppression_reasons(conn, first, last)
    judged = sum(promises.values())
    kept = promises.get("kept", 0)
    rates = {
        "cure rate": cures.rate,
        "promise kept rate": metrics.ratio(kept, judged),
        **{f"recovery {r.stage} ({r.currency})": r.rate for r in recovery},
    }
    pngs = {
        "stages": charts.stage_distribution(series, stages),
        "roll_rates": charts.roll_rates(matrix, stages),
        "rates": charts.bars(rates, "Cure, promise-kept and recovery rates", percent=True),
        "contacts": charts.bars(per_cure, "Contacts per cure, by channel", "contacts per cured case"),
        "suppressed": charts.bars(suppressed, "Contacts suppressed by the guard, by rule", "contacts"),
    }
    folder = out_dir / last.isoformat()
    folder.mkdir(parents=True, exist_ok=True)
    for name, png in pngs.items():
        (folder / f"{name}.png").write_bytes(png)
    env = Environment(
        loader=FileSystemLoader(TEMPLATES), undefined=StrictUndefined, autoescape=select_autoescape(["html.j2"])
    )
    html = env.get_template("reports/report.html.j2").render(
        first=first, last=last, prev=prev, stages=stages, series=series, cures=cures, promises=promises,
        judged=judged, kept=kept, recovery=recovery, per_cure=per_cure, suppressed=suppressed, rates=rates,
        charts={k: "data:image/png;base64," + base64.b64encode(v).decode() for k, v in pngs.items()},
        generated=(now.isoformat(timespec="seconds") if now else ""),
    )  # fmt: skip
    html_path = folder / "report.html"
    html_path.write_text(html, encoding="utf-8")
    pdf_path = folder / "report.pdf"
    from weasyprint import HTML

    HTML(string=html, base_url=str(folder)).write_pdf(pdf_path)
    return ReportFiles(html_path.resolve(), pdf_path.resolve())
