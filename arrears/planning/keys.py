"""The action key: who, what, which channel and which day — the idempotency key of every planned
action and of the message, letter, call task or legal case it becomes.

``loan:LN000123:m1_gentle_sms:sms:2026-11-23`` or ``borrower:B0042:pre_due_reminder:sms:2026-11-23``.
Keys are unique in the database, so planning the same day twice plans nothing new. References
(loan numbers, borrower ids) never hold a colon: the import refuses them.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date

SCOPES = ("loan", "borrower")


class BadActionKey(ValueError):
    """A string that is not an action key."""


@dataclass(frozen=True, slots=True)
class ActionKey:
    scope: str  # loan | borrower
    ref: str  # the loan number or the borrower id
    action: str
    channel: str
    as_of: date

    def __str__(self) -> str:
        return f"{self.scope}:{self.ref}:{self.action}:{self.channel}:{self.as_of.isoformat()}"

    @classmethod
    def parse(cls, text: str) -> ActionKey:
        parts = text.split(":")
        if len(parts) != 5 or parts[0] not in SCOPES:
            raise BadActionKey(f"{text!r} is not an action key (scope:ref:action:channel:YYYY-MM-DD)")
        scope, ref, action, channel, day = parts
        try:
            as_of = date.fromisoformat(day)
        except ValueError:
            raise BadActionKey(f"{text!r}: {day!r} is not a date") from None
        return cls(scope, ref, action, channel, as_of)

    def sibling(self, action: str, channel: str) -> ActionKey:
        """The key of another action on the same loan (or borrower) and day, e.g. the letter an email carries."""
        return replace(self, action=action, channel=channel)
