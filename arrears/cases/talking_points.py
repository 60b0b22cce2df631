"""Talking points for a call, per stage template and locale (templates/calls/<locale>/)."""

from __future__ import annotations

from decimal import Decimal
from functools import lru_cache

from jinja2 import Environment, FileSystemLoader, StrictUndefined, TemplateNotFound

from arrears.templating import TEMPLATES


@lru_cache(maxsize=1)
def _env() -> Environment:
    return Environment(loader=FileSystemLoader(TEMPLATES), undefined=StrictUndefined, autoescape=False)  # noqa: S701 - plain text for a collector, not HTML


def talking_points(template: str, locale: str, dpd: int, amount: Decimal, currency: str) -> str:
    try:
        t = _env().get_template(f"calls/{locale}/{template}.txt.j2")
    except TemplateNotFound:
        t = _env().get_template(f"calls/en_US/{template}.txt.j2")
    return t.render(dpd=dpd, amount=f"{currency} {amount:,.2f}").strip()


def missing_call_templates(templates: set[str], locales: tuple[str, ...] = ("zh_CN", "en_US")) -> list[str]:
    return [
        f"calls/{loc}/{t}.txt.j2"
        for t in sorted(templates)
        for loc in locales
        if not (TEMPLATES / "calls" / loc / f"{t}.txt.j2").is_file()
    ]
