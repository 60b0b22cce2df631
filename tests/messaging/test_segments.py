"""SMS segments as carriers bill them: GSM-7 160/153, UCS-2 (Chinese) 70/67."""

from __future__ import annotations

import pytest

from arrears.messaging.segments import sms_size


@pytest.mark.parametrize(
    ("text", "encoding", "segments"),
    [
        ("", "GSM-7", 0),
        ("a" * 160, "GSM-7", 1),
        ("a" * 161, "GSM-7", 2),
        ("a" * 306, "GSM-7", 2),
        ("a" * 307, "GSM-7", 3),
        ("中" * 70, "UCS-2", 1),
        ("中" * 71, "UCS-2", 2),
        ("中" * 134, "UCS-2", 2),
        ("中" * 135, "UCS-2", 3),
    ],
)
def test_segment_boundaries(text, encoding, segments):
    size = sms_size(text)
    assert (size.encoding, size.segments) == (encoding, segments)


def test_one_chinese_character_makes_the_whole_message_ucs2():
    assert sms_size("a" * 69 + "元").encoding == "UCS-2"
    assert sms_size("a" * 70 + "元").segments == 2


def test_gsm_extension_characters_count_twice():
    assert sms_size("€" * 80).units == 160
    assert sms_size("€" * 80).segments == 1
    assert sms_size("€" * 81).segments == 2


def test_emoji_count_as_two_utf16_units():
    assert sms_size("🙂" * 35).units == 70
    assert sms_size("🙂" * 36).segments == 2
