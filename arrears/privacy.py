"""Masking of personal data for logs, artifacts, reports and error messages."""

from __future__ import annotations

from collections.abc import Callable


def mask_phone(phone: str | None) -> str:
    """+8613812345678 -> +86138****5678; keeps the first 3 and last 4 national digits."""
    if not phone:
        return ""
    prefix = ""
    digits = phone
    if phone.startswith("+86"):
        prefix, digits = "+86", phone[3:]
    elif phone.startswith("+1"):
        prefix, digits = "+1", phone[2:]
    elif phone.startswith("+"):
        prefix, digits = phone[:3], phone[3:]
    if len(digits) <= 7:
        return prefix + "*" * len(digits)
    return prefix + digits[:3] + "*" * (len(digits) - 7) + digits[-4:]


def mask_email(email: str | None) -> str:
    """zhang.wei@example.com -> z***@example.com."""
    if not email:
        return ""
    local, at, domain = email.partition("@")
    if not at:
        return "***"
    return (local[:1] or "*") + "***@" + domain


def mask_recipient(channel: str, recipient: str) -> str:
    """A phone (SMS, calls) or an email address, masked."""
    return mask_email(recipient) if channel == "email" else mask_phone(recipient)


def mask_id_number(id_number: str | None) -> str:
    """110101199003071234 -> 1101**********1234 (region code and last 4 kept)."""
    if not id_number:
        return ""
    if len(id_number) <= 8:
        return "*" * len(id_number)
    return id_number[:4] + "*" * (len(id_number) - 8) + id_number[-4:]


def mask_name(name: str | None) -> str:
    """张伟 -> 张*, Wei Zhang -> W*** Z***."""
    if not name:
        return ""
    if name.isascii():
        return " ".join(part[:1] + "***" for part in name.split())
    return name[:1] + "*" * (len(name) - 1)


def mask_address(address: str | None) -> str:
    """The first six characters (a province and city, say), then an ellipsis."""
    return (address[:6] + "…") if address else ""


PII_MASKS: dict[str, Callable[[str | None], str]] = {
    "id_number": mask_id_number,
    "phone": mask_phone,
    "email": mask_email,
    "name": mask_name,
    "address": mask_address,
}


def mask_row(row: dict[str, str]) -> dict[str, str]:
    """A copy of a CSV row with the personal fields masked."""
    return {k: PII_MASKS[k](v) if k in PII_MASKS and v else v for k, v in row.items()}
