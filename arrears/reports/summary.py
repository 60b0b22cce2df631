"""The day's summary as markdown (the Prefect artifact) and its two tables (pure)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from arrears.policy import Policy
from arrears.reports.day import DaySummary
from arrears.reports.status import failures, plural, status_line
from arrears.templating import TEMPLATES


def render_summary(summary: DaySummary, policy: Policy) -> str:
    # markdown, not HTML: escaping would corrupt the table syntax
    env = Environment(loader=FileSystemLoader(TEMPLATES), undefined=StrictUndefined, autoescape=False)  # noqa: S701
    env.filters["plural"] = plural
    env.filters["cell"] = lambda text: str(text).replace("|", "\\|").replace("\n", " ")
    template = env.get_template("reports/daily_summary.md.j2")
    return template.render(
        s=summary, stages=policy.stage_rules.names, status=status_line(summary), failures=failures(summary)
    )


def roll_rate_table(rolls: Mapping[tuple[str, str], int], stages: Sequence[str]) -> list[dict[str, Any]]:
    """Rows: stage on the previous run day; columns: stage today, as "loans (share of the row)",
    and the row's total. A row with no loans shows "0" and no share (there is nothing to divide)."""
    table = []
    for a in stages:
        total = sum(rolls.get((a, b), 0) for b in stages)
        cells = {b: _count_share(rolls.get((a, b), 0), total) for b in stages}
        table.append({"from": a, **cells, "loans": total})
    return table


def _count_share(n: int, total: int) -> str:
    return f"{n} ({n / total:.1%})" if total else str(n)


def recovery_table(recovery: Sequence[Any]) -> list[dict[str, Any]]:
    """Per stage and currency: loans overdue then, their overdue, what they paid since, the rate."""
    return [
        {
            "stage": r.stage, "currency": r.currency, "loans": r.loans, "overdue": str(r.overdue),
            "recovered": str(r.recovered), "rate": f"{r.rate:.2%}",
        }
        for r in recovery
    ]  # fmt: skip
