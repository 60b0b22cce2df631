"""A thread-safe token bucket: the provider rate limit shared by every dispatch task of a run.

One bucket per provider lives in the run's ``Runtime``; all dispatch tasks (threads of the
flow's task runner) and their sender threads draw on it, so the configured rate holds
across concurrent tasks with no server round trip per message. The deployments' concurrency
limits keep one run of each flow at a time; a run overlapping another draws on its own bucket.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


class TokenBucket:
    def __init__(
        self,
        rate_per_s: float,
        burst: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.rate = rate_per_s
        self.burst = burst
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._next = clock()  # when the next token is free

    def acquire(self) -> None:
        """Block until a call may go out (never blocks when the rate is 0 = unlimited)."""
        if self.rate <= 0:
            return
        with self._lock:
            now = self._clock()
            interval = 1.0 / self.rate
            # allow at most `burst` tokens of credit after idle time
            start = max(self._next, now - (self.burst - 1) * interval)
            self._next = start + interval
            wait = start - now
        if wait > 0:
            self._sleep(wait)
