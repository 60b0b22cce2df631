"""Batch emails that share one body shape into one SendGrid request (pure).

Each outbox email stores the formatted values it was rendered with (its merge fields).
A message's shape is its content with those values swapped for tags (``-arrears_name-``);
messages of the same shape share one request, and a message is batched only if putting
its own values back into its shape gives exactly the email we rendered for it — so
batching never changes a word anyone receives. Templates that branch on values, or values that HTML-escaping
changes, simply end up in smaller batches.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

MAX_PERSONALIZATIONS = 1000  # SendGrid's limit per request


@dataclass(frozen=True, slots=True)
class Mergeable:
    subject: str
    text: str
    html: str
    fields: dict[str, str]  # name -> formatted value


@dataclass(frozen=True, slots=True)
class Shared:
    subject: str
    text: str
    html: str
    substitutions: list[dict[str, str]]  # one per personalization, in batch order

    def subset(self, keep: Sequence[int]) -> Shared:
        """The same content for only these members of the batch (by their index in it)."""
        return Shared(self.subject, self.text, self.html, [self.substitutions[i] for i in keep])


def tag(name: str) -> str:
    return f"-arrears_{name}-"


def _pattern(value: str) -> re.Pattern[str]:
    escaped = re.escape(value)
    if value.isdigit():  # "5" days must not match inside "400-800-1234" or "2026"
        escaped = rf"(?<!\d){escaped}(?!\d)"
    return re.compile(escaped)


def to_shared(text: str, fields: dict[str, str]) -> str:
    for name, value in sorted(fields.items(), key=lambda kv: -len(kv[1])):
        if value:
            text = _pattern(value).sub(lambda _m, n=name: tag(n), text)  # type: ignore[misc]
    return text


def fill(shared: str, fields: dict[str, str]) -> str:
    for name, value in fields.items():
        shared = shared.replace(tag(name), value)
    return shared


def batch(messages: Sequence[Mergeable], limit: int = MAX_PERSONALIZATIONS) -> list[tuple[list[int], Shared | None]]:
    """Group message indexes into requests; a group of one goes out as a plain email (None).

    Each message's shape is its content with its own values swapped for tags; messages
    with the same shape share a request. A message whose values cannot be put back into
    its shape exactly (a value that also occurs elsewhere in the text) goes out alone.
    One pass, linear in the number of messages.
    """
    by_shape: dict[tuple[str, str, str], list[int]] = {}
    alone: list[list[int]] = []
    for i, msg in enumerate(messages):
        shape = (to_shared(msg.subject, msg.fields), to_shared(msg.text, msg.fields), to_shared(msg.html, msg.fields))
        if tuple(fill(part, msg.fields) for part in shape) != (msg.subject, msg.text, msg.html):
            alone.append([i])
            continue
        by_shape.setdefault(shape, []).append(i)
    result: list[tuple[list[int], Shared | None]] = [(idx, None) for idx in alone]
    for shape, members in by_shape.items():
        for start in range(0, len(members), limit):
            idx = members[start : start + limit]
            if len(idx) == 1:
                result.append((idx, None))
                continue
            subs = [{tag(k): v for k, v in messages[i].fields.items()} for i in idx]
            result.append((idx, Shared(*shape, subs)))
    result.sort(key=lambda group: group[0][0])
    return result
