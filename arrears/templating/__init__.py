"""Words and layout: where the templates live, how money and dates are written for a locale,
and who the borrower hears from. The base every renderer (reminders, letters, call talking
points, evidence packs, reports) stands on; it imports none of them."""

from datetime import date
from decimal import Decimal
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined, pass_context, select_autoescape
from jinja2.runtime import Context

from arrears.templating.formats import long_date, money, percent

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"

__all__ = ["TEMPLATES", "environment"]


def environment(root: Path, facts: str) -> Environment:
    """A Jinja environment for templates under ``root`` whose context names the facts they state
    ``facts`` (``m`` for reminders, ``f`` for letters): ``money`` and ``day`` format for those
    facts' currency and locale, ``percent`` writes a rate exactly. HTML templates (``*.html.j2``)
    are autoescaped, text ones are not; an undefined name raises."""
    env = Environment(
        loader=FileSystemLoader(root),
        undefined=StrictUndefined,
        autoescape=select_autoescape(enabled_extensions=("html.j2",), default_for_string=False),
        trim_blocks=True,
        lstrip_blocks=True,
    )

    @pass_context
    def _money(ctx: Context, amount: Decimal, currency: str | None = None) -> str:
        stated = ctx[facts]
        return money(amount, currency or stated.currency, stated.locale)

    @pass_context
    def _day(ctx: Context, value: date) -> str:
        return long_date(value, ctx[facts].locale)

    env.filters.update(money=_money, day=_day, percent=percent)
    return env
