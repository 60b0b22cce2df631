"""How many SMS segments a text costs (GSM 03.38 vs UCS-2), as carriers bill them.

GSM-7 fits 160 characters in one segment and 153 per segment when split (7 go to the
concatenation header); characters of the extension table (``{}[]~^|\\€`` and form feed)
take two. Anything outside GSM-7 — Chinese included — makes the whole text UCS-2:
70 characters in one segment, 67 per segment when split, and characters outside the
Basic Multilingual Plane (emoji) count as two UTF-16 units.
"""

from __future__ import annotations

from dataclasses import dataclass

GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENSION = frozenset("\f^{}\\[~]|€")


@dataclass(frozen=True, slots=True)
class SmsSize:
    encoding: str  # "GSM-7" | "UCS-2"
    units: int  # septets (GSM-7) or UTF-16 code units (UCS-2)
    segments: int


def sms_size(text: str) -> SmsSize:
    """The encoding a handset would use for ``text`` and the segments it takes."""
    if all(c in GSM7_BASIC or c in GSM7_EXTENSION for c in text):
        units = sum(2 if c in GSM7_EXTENSION else 1 for c in text)
        single, multi, encoding = 160, 153, "GSM-7"
    else:
        units = len(text.encode("utf-16-le")) // 2
        single, multi, encoding = 70, 67, "UCS-2"
    if units == 0:
        return SmsSize(encoding, 0, 0)
    segments = 1 if units <= single else -(-units // multi)
    return SmsSize(encoding, units, segments)
