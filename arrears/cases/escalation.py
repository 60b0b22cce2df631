"""Escalation to legal: which rule fires for a loan, and the chain of legal tasks it opens (pure)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from arrears.policy import EscalationSpec
from arrears.policy.sections import per_currency


@dataclass(frozen=True, slots=True)
class EscalationView:
    loan_id: int
    loan_no: str
    case_id: int
    stage: str
    dpd: int
    overdue_total: Decimal
    broken_promises: int
    product: str
    currency: str = ""


@dataclass(frozen=True, slots=True)
class LegalStep:
    seq: int
    kind: str
    owner: str
    due_on: date


def rule_fired(view: EscalationView, spec: EscalationSpec) -> str | None:
    """Name of the first rule whose every condition holds, or None."""
    for rule in spec.rules:
        if rule.min_dpd is not None and view.dpd < rule.min_dpd:
            continue
        if rule.broken_promises is not None and view.broken_promises < rule.broken_promises:
            continue
        minimum = per_currency(rule.min_overdue_total, view.currency)
        if minimum is not None and view.overdue_total < minimum:
            continue
        if rule.stages is not None and view.stage not in rule.stages:
            continue
        return rule.name
    return None


def legal_chain(opened_on: date, track: str, spec: EscalationSpec, owners: Mapping[str, str]) -> list[LegalStep]:
    """Lawyer's letter -> arbitration or litigation (the product's track) -> enforcement."""
    kinds = ("lawyers_letter", track, "enforcement")
    return [
        LegalStep(seq, kind, owners.get(kind, "legal team"), opened_on + timedelta(days=spec.due_days[kind]))
        for seq, kind in enumerate(kinds, start=1)
    ]


def legal_reference(loan_no: str, opened_on: date) -> str:
    return f"LC-{opened_on:%Y%m%d}-{loan_no}"
