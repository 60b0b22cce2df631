"""The collections report as a markdown artifact: the charts' figures as tables a manager reads
in the Prefect UI from any machine, and links to the HTML/PDF (served, when ``reports_base_url``
is set — ``arrears server`` serves the reports folder — else the local file)."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from arrears.reports.build import ReportFigures, ReportFiles
from arrears.reports.summary import roll_rate_table


def _rate(v: Decimal | None) -> str:
    return "no data" if v is None else f"{v * 100:.1f} %"


def report_link(files: ReportFiles, reports_dir: Path, base_url: str | None) -> str:
    if base_url:
        return f"{base_url.rstrip('/')}/{files.html.relative_to(reports_dir.resolve()).as_posix()}"
    return files.html.as_uri()


def report_markdown(f: ReportFigures, files: ReportFiles, link: str, lender: str = "") -> str:
    lines = [
        f"# {lender + ' · ' if lender else ''}Collections report {f.first} .. {f.last}",
        "",
        f"[Open the report (HTML, charts)]({link}) · PDF beside it: `{files.pdf.name}`",
        "",
        "## Rates",
        "",
        "| rate | value |",
        "|---|---:|",
        *(f"| {name} | {_rate(v)} |" for name, v in f.rates().items()),
        "",
    ]
    if f.prev is not None:
        stages = list(f.stages)
        lines += [
            f"## Roll rates {f.prev} → {f.last}",
            "",
            "| then \\\\ now | " + " | ".join(stages) + " | loans |",
            "|---|" + "---:|" * (len(stages) + 1),
            *(
                f"| {row['from']} | " + " | ".join(str(row[s]) for s in stages) + f" | {row['loans']} |"
                for row in roll_rate_table(f.matrix, stages)
            ),
            "",
        ]
    last_days = sorted(f.series)[-7:]
    if last_days:
        stages = [s for s in f.stages if s != "current"]
        lines += [
            "## Delinquent loans by stage (last run days)",
            "",
            "| day | " + " | ".join(stages) + " |",
            "|---|" + "---:|" * len(stages),
            *(f"| {d} | " + " | ".join(str(f.series[d].get(s, 0)) for s in stages) + " |" for d in last_days),
            "",
        ]
    lines += ["## Contacts per cure, by channel", "", "| channel | contacts per cured case |", "|---|---:|"]
    lines += [f"| {c} | {v:.1f} |" for c, v in f.per_cure.items()] or ["| (no cure in the period) | |"]
    lines += ["", "## Contacts suppressed by the guard", "", "| rule | contacts |", "|---|---:|"]
    lines += [f"| {r} | {n} |" for r, n in f.suppressed.items()] or ["| (none in the period) | 0 |"]
    return "\n".join(lines) + "\n"
