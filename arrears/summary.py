"""Render the day's summary as markdown (for the Prefect artifact and the CLI)."""

from __future__ import annotations

from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from arrears.policy import Policy
from arrears.store.summary import DaySummary

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"


def render_summary(summary: DaySummary, policy: Policy) -> str:
    # markdown, not HTML: escaping would corrupt the table syntax
    env = Environment(loader=FileSystemLoader(TEMPLATES), undefined=StrictUndefined, autoescape=False)  # noqa: S701
    template = env.get_template("reports/daily_summary.md.j2")
    return template.render(s=summary, stages=policy.stage_rules.names)
