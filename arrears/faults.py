"""Fault injection for the resilience tests: ``ARREARS_CRASH_AT=<point>[:<n>]`` kills the process
and its process group (the flow and its pool workers) with SIGKILL the n-th time (default: the
first) that process reaches the named point. Unset — always, outside those tests — a point costs
one comparison.

The variable is read once, when this module is imported: it is a test hook, not a setting, and
a run that should crash is started in a process of its own with the variable in its environment.
"""

from __future__ import annotations

import os
import signal
import threading
from collections import Counter

POINTS = (
    "dispatch.claimed",  # a message is `sending`, its provider call not made yet
    "dispatch.accepted",  # the provider took the message; the row is not settled yet
)

_AT = os.environ.get("ARREARS_CRASH_AT", "")
_POINT, _, _NTH = _AT.partition(":")
_reached: Counter[str] = Counter()
_lock = threading.Lock()


def crash_point(name: str) -> None:
    """Die here if the test asked for it (see the module)."""
    if name != _POINT:
        return
    with _lock:
        _reached[name] += 1
        hit = _reached[name] == int(_NTH or 1)
    if hit:
        os.killpg(os.getpgrp(), signal.SIGKILL)
