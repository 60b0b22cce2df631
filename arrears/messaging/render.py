"""Render reminders from the Jinja templates under ``templates/sms`` and ``templates/email``.

Money and dates are formatted for the borrower's locale with Babel; HTML templates are
autoescaped, text templates are not (an SMS must not show ``&amp;``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from functools import lru_cache
from html import escape as html_escape
from pathlib import Path

from jinja2 import Environment, TemplateNotFound

from arrears import templating
from arrears.messaging.content import MessageFacts
from arrears.messaging.segments import SmsSize, sms_size
from arrears.templating import TEMPLATES
from arrears.templating.formats import long_date, money
from arrears.templating.lender import Lender

CHANNELS = ("sms", "email")


class TemplateMissing(LookupError):
    """The policy names a template that does not exist for a channel and locale."""


@dataclass(frozen=True, slots=True)
class Rendered:
    text: str
    subject: str | None = None
    html: str | None = None
    size: SmsSize | None = None  # SMS only


@lru_cache(maxsize=4)
def environment(root: Path = TEMPLATES) -> Environment:
    return templating.environment(root, "m")


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
        "minimum": cash(facts.minimum_payment),
        "due_amount": cash(facts.next_amount_due),
        "promise_amount": cash(facts.promise_amount),
        "paid": cash(facts.paid_amount),
        "deadline": day(facts.deadline),
        "due_date": day(facts.next_due_date),
        "promise_date": day(facts.promise_date),
        "pay_link": facts.pay_link,
        # the same link as the HTML part holds it ("&" escaped): its own substitution in a batch
        "pay_link_html": html_escape(facts.pay_link),
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
