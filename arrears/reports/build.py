"""The collections report for ``[first, last]`` from its figures: charts as PNG, one HTML file
(charts embedded and beside it) and the same page as a PDF (WeasyPrint), in ``<out>/<last>/``.

The report step (``arrears.steps.report``) reads the figures from the database; ``arrears
report --as-of D [--from D0]`` and the daily flow's ``report`` task call it.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from arrears.money import ratio
from arrears.reports import charts
from arrears.reports.experiments import ExperimentResult, arm_rates, result_table
from arrears.reports.summary import roll_rate_table
from arrears.templating import TEMPLATES
from arrears.templating.lender import data_uri

DEFAULT_DAYS = 30


@dataclass(frozen=True)
class ReportFiles:
    html: Path
    pdf: Path


@dataclass(frozen=True)
class ReportFigures:
    """What the report shows; read by the report step."""

    first: date
    last: date
    stages: Sequence[str]
    series: Mapping[date, Mapping[str, int]]  # run day -> stage -> loans
    prev: date | None  # the run day the roll rates start from
    matrix: Mapping[tuple[str, str], int]  # (stage then, stage now) -> loans
    recovery: Sequence[Any]  # per stage and currency: loans, overdue, recovered, rate
    cures: Any  # cured, cases, cycle_days, rate
    promises: Mapping[str, int]  # verdict -> promises judged
    per_cure: Mapping[str, Decimal]  # channel -> contacts per cured case
    suppressed: Mapping[str, int]  # guard rule -> contacts suppressed
    experiment: ExperimentResult | None = None  # the champion/challenger experiment of the period

    @property
    def judged(self) -> int:
        return sum(self.promises.values())

    @property
    def kept(self) -> int:
        return self.promises.get("kept", 0)

    def rates(self) -> dict[str, Decimal | None]:
        """The rates charted; None where there is nothing to divide (no case, no promise judged,
        nothing overdue): shown as "no data", never as 0 %."""
        return {
            "cure rate": self.cures.rate if self.cures.cases else None,
            "promise kept rate": ratio(self.kept, self.judged) if self.judged else None,
            **{f"recovery {r.stage} ({r.currency})": r.rate if r.overdue else None for r in self.recovery},
        }


@dataclass(frozen=True)
class Letterhead:
    """Who the report is of: the lender's name, and its logo (PNG/JPEG/SVG) if configured."""

    name: str
    logo: Path | None = None

    def logo_uri(self) -> str | None:
        return data_uri(self.logo)


def write_report(
    figures: ReportFigures, out_dir: Path, now: datetime | None = None, letterhead: Letterhead | None = None
) -> ReportFiles:
    f = figures
    head = letterhead or Letterhead("")
    rates = f.rates()
    pngs = {
        "stages": charts.stage_distribution(f.series, f.stages),
        "roll_rates": charts.roll_rates(f.matrix, f.stages),
        "rates": charts.bars(rates, "Cure, promise-kept and recovery rates", percent=True),
        "contacts": charts.bars(f.per_cure, "Contacts per cure, by channel", "contacts per cured case"),
        "suppressed": charts.bars(f.suppressed, "Contacts suppressed by the guard, by rule", "contacts"),
    }
    if f.experiment is not None:
        pngs["experiment"] = charts.experiment_arms(arm_rates(f.experiment), f"Experiment {f.experiment.name}, by arm")
    folder = out_dir / f.last.isoformat()
    folder.mkdir(parents=True, exist_ok=True)
    for name, png in pngs.items():
        (folder / f"{name}.png").write_bytes(png)
    env = Environment(
        loader=FileSystemLoader(TEMPLATES), undefined=StrictUndefined, autoescape=select_autoescape(["html.j2"])
    )
    html = env.get_template("reports/report.html.j2").render(
        first=f.first, last=f.last, prev=f.prev, stages=list(f.stages), series=f.series, cures=f.cures,
        promises=f.promises, judged=f.judged, kept=f.kept, recovery=f.recovery, per_cure=f.per_cure,
        suppressed=f.suppressed, rates=rates, roll_table=roll_rate_table(f.matrix, f.stages),
        charts={k: "data:image/png;base64," + base64.b64encode(v).decode() for k, v in pngs.items()},
        generated=(now.isoformat(timespec="seconds") if now else ""), lender=head.name, logo=head.logo_uri(),
        experiment=f.experiment, experiment_rows=result_table(f.experiment) if f.experiment else [],
    )  # fmt: skip
    html_path = folder / "report.html"
    html_path.write_text(html, encoding="utf-8")
    pdf_path = folder / "report.pdf"
    from weasyprint import HTML  # noqa: PLC0415 - heavy: imported when a report is written

    HTML(string=html, base_url=str(folder)).write_pdf(pdf_path)
    return ReportFiles(html_path.resolve(), pdf_path.resolve())
