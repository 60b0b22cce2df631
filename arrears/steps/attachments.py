"""The demand letter an email carries: the archived PDF, read and checked against the checksum
recorded when it was rendered, before the message is claimed."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from arrears.providers.outcomes import Attachment


class LetterUnavailable(RuntimeError):
    """The archived letter an email must carry is missing or no longer matches its checksum."""


def carries_letter(row: Any) -> bool:
    return bool(getattr(row, "letter_key", None))


def attaches(row: Any) -> bool:
    """An email with a rendered letter to attach (a letter that failed is not waited for)."""
    return carries_letter(row) and getattr(row, "letter_status", None) == "rendered"


def letter_attachment(row: Any, letters_dir: Path) -> Attachment:
    """The archived PDF, checked against the checksum recorded when it was rendered."""
    path = letters_dir / row.letter_path
    try:
        data = path.read_bytes()
    except OSError as err:
        raise LetterUnavailable(f"letter {row.letter_reference} not attached: {err.strerror}") from None
    if hashlib.sha256(data).hexdigest() != row.letter_sha256:
        raise LetterUnavailable(f"letter {row.letter_reference} not attached: file does not match its sha256")
    return Attachment(f"{row.letter_reference}.pdf", data)
