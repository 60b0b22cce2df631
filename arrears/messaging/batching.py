"""Batch emails that share one body shape into one SendGrid request (pure).

Each outbox email stores the formatted values it was rendered with (its merge fields).
A batch's shared content is the first message with those values swapped for tags
(``-arrears_name-``); a message joins the batch only if putting its own values back into
the shared content gives exactly the email we rendered for it — so batching never changes
a word anyone receives. Templates that branch on values, or values that HTML-escaping
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
    """Group message indexes into requests; a group of one goes out as a plain email (None)."""
    open_groups: list[tuple[list[int], str, str, str]] = []
    done: list[list[int]] = []
    shapes: dict[int, tuple[str, str, str]] = {}
    for i, msg in enumerate(messages):
        for group in open_groups:
            idx, subject, text, html = group
            if (fill(subject, msg.fields), fill(text, msg.fields), fill(html, msg.fields)) == (
                msg.subject,
                msg.text,
                msg.html,
            ):
                idx.append(i)
                if len(idx) >= limit:
                    open_groups.remove(group)
                    done.append(idx)
                break
        else:
            shape = (
                to_shared(msg.subject, msg.fields),
                to_shared(msg.text, msg.fields),
                to_shared(msg.html, msg.fields),
            )
            if tuple(fill(part, msg.fields) for part in shape) != (msg.subject, msg.text, msg.html):
                done.append([i])  # a value contains another tag's text: send it alone
                continue
            shapes[i] = shape
            open_groups.append(([i], *shape))
    done.extend(g[0] for g in open_groups)
    result: list[tuple[list[int], Shared | None]] = []
    for idx in sorted(done):
        if len(idx) == 1:
            result.append((idx, None))
            continue
        subject, text, html = shapes[idx[0]]
        subs = [{tag(k): v for k, v in messages[i].fields.items()} for i in idx]
        result.append((idx, Shared(subject, text, html, subs)))
    return result
