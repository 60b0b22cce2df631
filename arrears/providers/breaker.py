"""A circuit breaker per provider and run: after ``threshold`` consecutive failed calls (5xx,
timeouts, refused connections — not 429s, which are the provider pacing us) the run stops calling
that provider and leaves the rest of its messages queued, so an outage ends the run in seconds, not
after every message has spent its retries. After ``cooldown_s`` one call is let through (a probe):
if it succeeds the breaker closes, if it fails it opens again. A plain object shared by reference
among the run's sender threads and tasks (see ``arrears.runtime.RateLimits``)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


class CircuitBreaker:
    def __init__(self, threshold: int, cooldown_s: float, monotonic: Callable[[], float] = time.monotonic) -> None:
        self.threshold = threshold  # 0: never opens
        self.cooldown_s = cooldown_s
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self._failures = 0
        self._opened_at: float | None = None
        self._probing = False
        self.last_reason = ""
        self.trips = 0  # how many times it opened in this run

    @property
    def is_open(self) -> bool:
        return self._opened_at is not None

    def allow(self) -> bool:
        """May a call start now? Closed: yes. Open: no, except one probe once the cooldown passed."""
        with self._lock:
            if self._opened_at is None:
                return True
            if not self._probing and self._monotonic() - self._opened_at >= self.cooldown_s:
                self._probing = True
                return True
            return False

    def succeeded(self) -> None:
        """The provider answered (accepted, or refused one message for good): it is up."""
        with self._lock:
            self._failures, self._opened_at, self._probing = 0, None, False

    def failed(self, reason: str) -> None:
        with self._lock:
            self._failures += 1
            self.last_reason = reason
            if self._probing:  # the probe failed: open for another cooldown
                self._opened_at, self._probing = self._monotonic(), False
            elif self._opened_at is None and self.threshold and self._failures >= self.threshold:
                self._opened_at = self._monotonic()
                self.trips += 1

    def why(self) -> str:
        return f"circuit open after {self._failures} consecutive failed calls (last: {self.last_reason})"
