"""Render reminders from the Jinja templates under ``templates/sms`` and ``templates/email``.

Money and dates are formatted for the borrower's locale with Babel; HTML templates are
autoescaped, text templates are not (an SMS must not show ``&amp;``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from functools import lru_cache
from pathlib import Path

from babel import Locale
from babel.dates import format_date
from babel.numbers import format_currency
from jinja2 import Environment, FileSystemLoader, StrictUndefined, TemplateNotFound, pass_context, select_autoescape
from jinja2.runtime import Context

from arrears.messaging.content import Lender, MessageFacts
from arrears.messaging.segments import SmsSize, sms_size

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"
CHANNELS = ("sms", "email")


class TemplateMissing(LookupError):
    """The policy names a template that does not exist for a channel and locale."""


@dataclass(frozen=True, slots=True)
class Rendered:
    text: str
    subject: str | None = None
    html: str | None = None
    size: SmsSize | None = None  # SMS only


@lru_cache(maxsize=16)
def babel_locale(code: str) -> Locale:
    """Parsed once: Babel's parse of a locale string scans its data directory on every call."""
    return Locale.parse(code)


def money(amount: Decimal, currency: str, locale: str) -> str:
    return format_currency(amount, currency, locale=babel_locale(locale))


def long_date(value: date, locale: str) -> str:
    return format_date(value, format="long", locale=babel_locale(locale))


@pass_context
def _money(ctx: Context, amount: Decimal, currency: str | None = None) -> str:
    facts: MessageFacts = ctx["m"]
    return money(amount, currency or facts.currency, facts.locale)


@pass_context
def _day(ctx: Context, value: date) -> str:
    return long_date(value, ctx["m"].locale)


@lru_cache(maxsize=4)
def environment(root: Path = TEMPLATES) -> Environment:
    env = Environment(
        loader=FileSystemLoader(root),
        undefined=StrictUndefined,
        autoescape=select_autoescape(enabled_extensions=("html.j2",), default_for_string=False),
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
    )
    env.filters["money"] = _money
    env.filters["day"] = _day
    return env


def merge_fields(facts: MessageFacts) -> dict[str, str]:
    """The formatted values a message was rendered with (see ``arrears.messaging.batching``)."""

    def cash(v: Decimal | None) -> str:
        return "" if v is None else money(v, facts.currency, facts.locale)

    def day(v: date | None) -> str:
        return "" if v is None else long_date(v, facts.locale)

    return {
        "name": facts.borrower_name,
        "contract": facts.contract_no,
        "loans": ("、" if facts.locale == "zh_CN" else ", ").join(facts.loan_nos),
        "dpd": str(facts.dpd),
        "principal": cash(facts.overdue_principal),
        "interest": cash(facts.overdue_interest),
        "penalty": cash(facts.overdue_penalty),
        "fees": cash(facts.overdue_fees),
        "total": cash(facts.overdue_total),
        "due_amount": cash(facts.next_amount_due),
        "promise_amount": cash(facts.promise_amount),
        "paid": cash(facts.paid_amount),
        "deadline": day(facts.deadline),
        "due_date": day(facts.next_due_date),
        "promise_date": day(facts.promise_date),
    }


def template_names(channel: str, locale: str, root: Path = TEMPLATES) -> list[str]:
    """Templates available for a channel and locale (file stems, without the layout)."""
    folder = root / channel / locale
    stems = {p.name.split(".", 1)[0] for p in folder.glob("*.j2") if not p.name.startswith("_")}
    return sorted(stems)


def render(channel: str, template: str, facts: MessageFacts, lender: Lender, root: Path = TEMPLATES) -> Rendered:
    """Render ``template`` for ``channel`` in the facts' locale."""
    env = environment(root)
    base = f"{channel}/{facts.locale}/{template}"
    ctx = {"m": facts, "lender": lender, "lender_name": lender.name(facts.locale)}
    try:
        if channel == "sms":
            text = _one_line(env.get_template(f"{base}.txt.j2").render(ctx), facts.locale)
            return Rendered(text=text, size=sms_size(text))
        if channel == "email":
            subject = _one_line(env.get_template(f"{base}.subject.j2").render(ctx), facts.locale)
            text = env.get_template(f"{base}.txt.j2").render(ctx).strip() + "\n"
            html = env.get_template(f"{base}.html.j2").render(ctx)
            return Rendered(text=text, subject=subject, html=html)
    except TemplateNotFound as err:
        raise TemplateMissing(f"no {channel} template {err.name!r}") from None
    raise ValueError(f"channel {channel!r} has no message templates")


def _one_line(text: str, locale: str) -> str:
    """Template line breaks are for the author, not the handset: Chinese lines join
    without a space, others with one."""
    glue = "" if locale == "zh_CN" else " "
    return glue.join(line.strip() for line in text.splitlines() if line.strip())
