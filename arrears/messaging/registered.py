"""Templates registered with a provider that sends only what it approved — Alibaba Cloud SMS: a
signature (短信签名) and a template (短信模板) are registered and reviewed, and a send names the
template code and fills its ``${variables}``; the provider writes the text.

So that what a borrower receives is what Arrears rendered and recorded, a local copy of each
registered text lives in ``templates/providers/<provider>/sms/<locale>/<template>.txt`` and
``check_registered`` renders our template and the registered one with the same sample values and
refuses any difference. The variables are the message's merge fields
(``arrears.messaging.render.merge_fields``): ``${name}``, ``${contract}``, ``${dpd}``, ``${total}``,
``${minimum}``, ``${deadline}``, ``${due_amount}``, ``${due_date}``, ``${promise_amount}``,
``${promise_date}``, ``${paid}``. The provider prefixes the signature as ``【sign】``: our template
either starts with the same ``【sign】`` or (English) carries no signature of its own, the provider's
prefix then being the only difference.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from arrears.messaging.content import LOCALES, sample_facts
from arrears.messaging.render import merge_fields, render
from arrears.policy.sections import AliyunSmsSpec
from arrears.templating import TEMPLATES
from arrears.templating.lender import Lender

VARIABLE = re.compile(r"\$\{(\w+)\}")


class RegistrationError(ValueError):
    """A message a registered template cannot carry (a variable without a value)."""


@dataclass(frozen=True, slots=True)
class Registered:
    template: str
    locale: str
    code: str  # the provider's template code (SMS_...)
    sign_name: str
    text: str  # the registered text, with ${variables}

    @property
    def variables(self) -> list[str]:
        return VARIABLE.findall(self.text)

    def params(self, fields: Mapping[str, str]) -> dict[str, str]:
        """The template's variables from a message's merge fields (the provider takes strings)."""
        missing = [v for v in self.variables if v not in fields]
        if missing:
            raise RegistrationError(f"{self.code} ({self.template}/{self.locale}) needs {', '.join(missing)}")
        return {v: fields[v] for v in self.variables}

    def fill(self, params: Mapping[str, str]) -> str:
        return VARIABLE.sub(lambda m: params[m.group(1)], self.text)

    def delivered(self, fields: Mapping[str, str]) -> str:
        """The text the handset shows: the signature, then the filled template."""
        return f"【{self.sign_name}】" + self.fill(self.params(fields))


def registered_path(root: Path, provider: str, locale: str, template: str) -> Path:
    return root / "providers" / provider / "sms" / locale / f"{template}.txt"


def load_registry(spec: AliyunSmsSpec, root: Path = TEMPLATES, provider: str = "aliyun") -> dict[str, Registered]:
    """``template/locale`` -> the registered template, for every code the policy names whose
    local copy exists (a missing copy is reported by ``check_registered``)."""
    registry = {}
    for template, entry in spec.templates.items():
        for locale in LOCALES:
            code = entry.code(locale)
            path = registered_path(root, provider, locale, template)
            if code and path.is_file():
                text = path.read_text(encoding="utf-8").strip()
                registry[f"{template}/{locale}"] = Registered(
                    template, locale, code, entry.sign_name or spec.sign_name, text
                )
    return registry


def check_registered(
    spec: AliyunSmsSpec, templates: Iterable[str], lender: Lender, root: Path = TEMPLATES, provider: str = "aliyun"
) -> list[str]:
    """Problems, one line each: an SMS template the policy sends that has no registered code or
    local copy, or whose registered text does not read exactly as ours."""
    registry = load_registry(spec, root, provider)
    problems = []
    for template in sorted(templates):
        for locale in LOCALES:
            where = f"sms/{locale}/{template}"
            entry = spec.templates.get(template)
            if entry is None or not entry.code(locale):
                problems.append(f"{provider}: no registered template code for {where} (policy providers.{provider})")
                continue
            if not (entry.sign_name or spec.sign_name):
                problems.append(f"{provider}: no signature for {where} (policy providers.{provider}.sign_name)")
                continue
            reg = registry.get(f"{template}/{locale}")
            if reg is None:
                path = registered_path(root, provider, locale, template).relative_to(root)
                problems.append(f"{provider}: no local copy of {entry.code(locale)} for {where} (templates/{path})")
                continue
            problem = _disagreement(reg, render("sms", template, sample_facts(locale), lender).text)
            if problem:
                problems.append(f"{provider}: {reg.code} ({where}) {problem}")
    return problems


def _disagreement(reg: Registered, ours: str) -> str | None:
    try:
        theirs = reg.delivered(merge_fields(sample_facts(reg.locale)))
    except RegistrationError as err:
        return f"uses a variable no message has: {err}"
    expected = theirs if ours.startswith("【") else theirs.removeprefix(f"【{reg.sign_name}】")
    if ours == expected:
        return None
    pairs = enumerate(zip(ours, expected, strict=False))
    at = next((i for i, (a, b) in pairs if a != b), min(len(ours), len(expected)))
    around = slice(max(0, at - 10), at + 20)
    return f"differs from ours at character {at}: ours …{ours[around]}… registered …{expected[around]}…"


# Which variable a value stands for when two carry the same sample value (the minimum payment is
# the overdue total): the first in this order.
DRAFT_ORDER = (
    "name", "contract", "dpd", "total", "minimum", "deadline", "due_amount", "due_date", "promise_amount",
    "promise_date", "paid",
)  # fmt: skip


def draft(template: str, locale: str, sign_name: str, lender: Lender, root: Path = TEMPLATES) -> str:
    """The text to register for one of our SMS templates: ours rendered with sample values, each
    value replaced by its ``${variable}``, the signature left to the provider. What a lender
    submits for review (``arrears providers draft``) and keeps as the local copy."""
    facts = sample_facts(locale)
    text = render("sms", template, facts, lender, root).text.removeprefix(f"【{sign_name}】")
    fields = merge_fields(facts)
    values: dict[str, str] = {}
    for name in DRAFT_ORDER:
        if fields.get(name):
            values.setdefault(fields[name], name)
    for value in sorted(values, key=len, reverse=True):  # "¥138,493.12" before "118"
        text = text.replace(value, "${" + values[value] + "}")
    return text
