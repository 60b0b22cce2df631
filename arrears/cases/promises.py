"""Promises to pay: judged the day after the promised date from the payments made
between the promise and the promised date (pure)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

KEPT, PARTLY_KEPT, BROKEN = "kept", "partly_kept", "broken"
OPEN, SUPERSEDED, CANCELLED = "open", "superseded", "cancelled"


class PromiseError(ValueError):
    """A promise that cannot be recorded; the message says why."""


def check_promise(amount: Decimal, made_on: date, promised_on: date, max_days: int = 60) -> None:
    if amount <= 0:
        raise PromiseError(f"amount must be positive, got {amount}")
    if promised_on < made_on:
        raise PromiseError(f"promised date {promised_on} is before the day it was made ({made_on})")
    if (promised_on - made_on).days > max_days:
        raise PromiseError(f"promised date {promised_on} is more than {max_days} days after {made_on}")


def judge(amount: Decimal, paid: Decimal) -> str:
    """kept when the payments reach the promised amount, partly kept when something was paid."""
    if paid >= amount:
        return KEPT
    if paid > 0:
        return PARTLY_KEPT
    return BROKEN


def broken_statuses(partial_counts_as_broken: bool) -> tuple[str, ...]:
    """Statuses that count as a broken promise for risk and escalation."""
    return (BROKEN, PARTLY_KEPT) if partial_counts_as_broken else (BROKEN,)
