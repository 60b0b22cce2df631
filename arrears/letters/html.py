"""Letters as HTML, from the Jinja templates under ``templates/letters/<locale>/``.

One ``<section>`` per letter; a chunk of letters is one HTML document (a WeasyPrint
batch). Money and dates are formatted with Babel for the letter's locale; everything
is autoescaped. Undefined template variables raise (StrictUndefined).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, time
from functools import lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo

from jinja2 import (
    Environment,
    TemplateError,
    TemplateNotFound,
)
from markupsafe import Markup

from arrears import templating
from arrears.letters.facts import LOCALES, LetterDataError, LetterFacts
from arrears.templating import TEMPLATES
from arrears.templating.lender import Letterhead

LETTERS = TEMPLATES / "letters"


@lru_cache(maxsize=4)
def environment(root: Path = LETTERS) -> Environment:
    return templating.environment(root, "f")


def letter_templates(locale: str, root: Path = LETTERS) -> set[str]:
    folder = root / locale
    if not folder.is_dir():
        return set()
    return {p.name.removesuffix(".html.j2") for p in folder.glob("*.html.j2") if not p.name.startswith("_")}


def missing_templates(templates: set[str], root: Path = LETTERS) -> list[str]:
    return [f"letters/{loc}/{t}" for t in sorted(templates) for loc in LOCALES if t not in letter_templates(loc, root)]


def section(f: LetterFacts, lender: Letterhead, root: Path = LETTERS) -> str:
    """One letter's HTML section; a template or data problem raises LetterDataError."""
    try:
        template = environment(root).get_template(f"{f.locale}/{f.template}.html.j2")
    except TemplateNotFound:
        raise LetterDataError(f.reference, f.template, "template", f"no template {f.locale}/{f.template}") from None
    try:
        return template.render(f=f, lender=lender)
    except TemplateError as err:  # an undefined field, a bad filter argument
        raise LetterDataError(f.reference, f.template, "template data", str(err)) from err
    except (TypeError, ValueError, ArithmeticError) as err:
        raise LetterDataError(f.reference, f.template, "template data", f"{type(err).__name__}: {err}") from err


def created_stamp(letter_date: date, timezone: str) -> str:
    """PDF creation date: the letter date at midnight in the lender's timezone (never the clock)."""
    return datetime.combine(letter_date, time(0), ZoneInfo(timezone)).isoformat()


def document(sections: Sequence[str], *, title: str, author: str, created: str, lang: str, root: Path = LETTERS) -> str:
    return (
        environment(root)
        .get_template("_document.html.j2")
        .render(
            sections=[Markup(s) for s in sections],  # noqa: S704 - sections are our autoescaped templates
            title=title,
            author=author,
            created=created,
            lang=lang,
        )
    )


def stylesheet(font: str, root: Path = LETTERS) -> str:
    return environment(root).get_template("letter.css.j2").render(font=font)
