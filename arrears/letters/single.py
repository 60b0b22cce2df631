"""One loan's letter on a day (``arrears letter``): the same facts, key and file as the
daily run would produce, so the run never makes a second letter for it."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path

from sqlalchemy import Engine, text

from arrears.letters.produce import facts_for, render_letters
from arrears.planning import action_key
from arrears.policy import Policy
from arrears.positions import position_for
from arrears.settings import Settings
from arrears.store import letters as store
from arrears.store.book import read_books
from models.letter import RENDERED


class LetterNotProduced(RuntimeError):
    pass


def letter_action(policy: Policy, stage: str, risk: str, template: str | None) -> tuple[str, str]:
    """(action, template): the letter the policy sends a loan in this stage and risk, or the
    named template (under the action that names it anywhere in the policy)."""
    if template is None:
        for spec in policy.actions_for(stage, risk):
            if spec.channel == "letter":
                return spec.action, spec.template
        raise LetterNotProduced(f"the policy sends no letter to a {stage} loan of {risk} risk; pass --template")
    for by_risk in policy.strategy.values():
        for specs in by_risk.values():
            for spec in specs:
                if spec.channel == "letter" and spec.template == template:
                    return spec.action, template
    return template, template


def loan_letter(
    *,
    engine: Engine,
    policy: Policy,
    settings: Settings,
    loan_no: str,
    as_of: date,
    template: str | None,
    now: Callable[[], datetime],
) -> Path:
    """The absolute path of the loan's letter for ``as_of``, rendering it if it does not exist yet."""
    with engine.connect() as conn:
        row = conn.execute(
            text(
                "SELECT l.id AS loan_id, l.loan_no, l.product, l.currency, l.principal, l.penalty_rate_daily,"
                " l.contract_date, b.borrower_id, b.name, b.address, b.locale FROM loan l"
                " JOIN borrower b ON b.borrower_id = l.borrower_id WHERE l.loan_no = :n"
            ),
            {"n": loan_no},
        ).first()
        if row is None:
            raise LetterNotProduced(f"no loan {loan_no!r}")
        (book,) = read_books(conn, row.loan_id, row.loan_id, as_of)
    pos = position_for(book, as_of, policy)
    action, chosen = letter_action(policy, pos.stage, pos.risk, template)
    key = action_key("loan", loan_no, action, "letter", as_of)
    source = store.source_from(
        row,
        key=key,
        action=action,
        template=chosen,
        as_of=as_of,
        dpd=pos.dpd,
        overdue=(pos.overdue_principal, pos.overdue_interest, pos.overdue_penalty, pos.overdue_fees, pos.overdue_total),
    )
    with engine.connect() as conn:
        found = store.existing(conn, [key]).get(key)
    if found is None or found.status != RENDERED:
        run = render_letters(
            engine=engine,
            policy=policy,
            settings=settings,
            letters=[facts_for(source, policy)],
            inline=True,  # one letter: no worker process to start
            now=now,
        )
        if run.failed:
            raise LetterNotProduced(run.failures[0])
        with engine.connect() as conn:
            found = store.existing(conn, [key])[key]
    return settings.resolved_letters_dir / found.path
