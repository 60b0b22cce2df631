"""The contact-rules guard: allow, defer or suppress every planned contact (pure)."""

from arrears.guard.calendar import ContactCalendar, Hours, next_allowed
from arrears.guard.decide import (
    ALLOW,
    DEFER,
    STOP_FLAGS,
    SUPPRESS,
    ChannelRules,
    Contact,
    Decision,
    GuardRules,
    Standing,
    decide,
    record,
)

__all__ = [
    "ALLOW", "DEFER", "STOP_FLAGS", "SUPPRESS", "ChannelRules", "Contact", "ContactCalendar", "Decision",
    "GuardRules", "Hours", "Standing", "decide", "next_allowed", "record",
]  # fmt: skip
