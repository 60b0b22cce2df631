"""Template checks: every template the policy names exists in every locale, renders, and
fits the policy's SMS segment limit (run at start-up and by ``arrears templates check``)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from arrears.cases.talking_points import missing_call_templates
from arrears.letters.html import missing_templates
from arrears.messaging.content import LOCALES, sample_facts
from arrears.messaging.content_rules import forbidden_word_problems, third_party_problems
from arrears.messaging.render import TemplateMissing, render, template_names
from arrears.policy import Policy, PolicyError
from arrears.templating import TEMPLATES
from arrears.templating.lender import Lender

SAMPLE_LENDER = Lender(
    "Anxin Lending", "安信小贷", "400-800-1234", "collections@anxin.example", "https://pay.anxin.example"
)


@dataclass(frozen=True)
class TemplateCheck:
    channel: str
    locale: str
    template: str
    segments: int | None
    encoding: str | None
    warning: str | None


def check_policy_templates(policy: Policy) -> None:
    """Fail fast when the policy names a template (SMS/email, letter, call talking points) that a
    locale lacks, or when a template fails the content checks."""
    missing = [
        f"{channel}/{locale}/{template}"
        for channel, template in sorted(policy.message_templates())
        for locale in LOCALES
        if template not in template_names(channel, locale)
    ]
    missing += missing_templates(policy.letter_templates())
    missing += missing_call_templates(policy.call_templates())
    if missing:
        raise PolicyError(f"policy names templates that do not exist: {', '.join(missing)}")
    check_content(policy)


def check_content(policy: Policy, root: Path = TEMPLATES) -> None:
    """Fail when a third-party template carries debt details or any template a forbidden word."""
    problems = third_party_problems(policy.third_party_templates(), LOCALES, root)
    problems += forbidden_word_problems(policy.guard.forbidden_words, root)
    if problems:
        raise PolicyError("templates fail the content checks: " + "; ".join(problems))


def check_templates(policy: Policy, lender: Lender = SAMPLE_LENDER) -> list[TemplateCheck]:
    """Render every template with long sample values; warn where an SMS is over the limit."""
    limit = policy.messages.sms_max_segments
    results = []
    for channel in ("sms", "email"):
        for locale in LOCALES:
            for template in template_names(channel, locale):
                try:
                    r = render(channel, template, sample_facts(locale), lender)
                except TemplateMissing as err:
                    results.append(TemplateCheck(channel, locale, template, None, None, str(err)))
                    continue
                warning = None
                if r.size and r.size.segments > limit:
                    warning = f"{r.size.segments} segments ({r.size.encoding}, {r.size.units} units) > limit {limit}"
                results.append(
                    TemplateCheck(
                        channel,
                        locale,
                        template,
                        r.size.segments if r.size else None,
                        r.size.encoding if r.size else None,
                        warning,
                    )
                )
    return results
