"""Content checks on templates, run when the policy loads (pure over the template sources).

* A template marked third-party-safe (its first line is ``{# third-party-safe #}``) must not
  use any debt detail: an emergency contact or employer learns only that the lender asks the
  borrower to call back.
* No template may contain a word of the policy's ``guard.forbidden_words`` for its locale
  (threats, insults); the failure names the file, line and word.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path

from jinja2 import nodes

from arrears.messaging.render import environment
from arrears.templating import TEMPLATES

THIRD_PARTY_MARK = "{# third-party-safe #}"
# MessageFacts fields that say anything about the debt
DEBT_FIELDS = frozenset(
    {
        "contract_no", "loan_nos", "currency", "dpd", "overdue_principal", "overdue_interest", "overdue_penalty",
        "overdue_fees", "overdue_total", "next_due_date", "next_amount_due", "deadline", "promise_date",
        "promise_amount", "paid_amount", "letter_reference", "minimum_payment",
    }
)  # fmt: skip
CHECKED = ("sms", "email", "calls", "letters")


def template_files(channel: str, template: str, locale: str, root: Path = TEMPLATES) -> list[Path]:
    return sorted((root / channel / locale).glob(f"{template}.*j2"))


def is_third_party_safe(channel: str, template: str, locale: str, root: Path = TEMPLATES) -> bool:
    files = template_files(channel, template, locale, root)
    return bool(files) and all(f.read_text(encoding="utf-8").startswith(THIRD_PARTY_MARK) for f in files)


def debt_fields_used(source: str, root: Path = TEMPLATES) -> set[str]:
    """Attributes of ``m`` (the message facts) the template reads, that are debt details."""
    tree = environment(root).parse(source)
    used = {n.attr for n in tree.find_all(nodes.Getattr) if isinstance(n.node, nodes.Name) and n.node.name == "m"}
    includes = bool(list(tree.find_all(nodes.Include))) or bool(list(tree.find_all(nodes.Extends)))
    return (used & DEBT_FIELDS) | ({"(an included template)"} if includes else set())


def third_party_problems(templates: Iterable[str], locales: Iterable[str], root: Path = TEMPLATES) -> list[str]:
    problems = []
    for template in sorted(templates):
        for locale in locales:
            files = template_files("sms", template, locale, root)
            for f in files:
                source = f.read_text(encoding="utf-8")
                rel = f.relative_to(root)
                if not source.startswith(THIRD_PARTY_MARK):
                    problems.append(f"templates/{rel}: sent to third parties but not marked {THIRD_PARTY_MARK}")
                    continue
                debt = debt_fields_used(source, root)
                if debt:
                    problems.append(f"templates/{rel}: third-party-safe template uses debt details {sorted(debt)}")
    return problems


def forbidden_word_problems(words: Mapping[str, list[str]], root: Path = TEMPLATES) -> list[str]:
    problems = []
    for locale, banned in sorted(words.items()):
        lowered = [(w, w.lower()) for w in banned if w.strip()]
        for channel in CHECKED:
            for f in sorted((root / channel / locale).glob("*.j2")):
                for n, line in enumerate(f.read_text(encoding="utf-8").splitlines(), 1):
                    low = line.lower()
                    for word, w in lowered:
                        if w in low:
                            problems.append(f"templates/{f.relative_to(root)}:{n}: forbidden word {word!r}")
    return problems
