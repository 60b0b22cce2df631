"""Backoff with jitter honouring Retry-After, and a token bucket that keeps the rate."""

from __future__ import annotations

import random

from arrears.providers.ratelimit import TokenBucket
from arrears.steps.sender import RetryRule


def test_backoff_grows_exponentially_with_jitter_and_is_capped():
    rule = RetryRule(attempts=6, base_s=0.5, max_s=4.0)
    rng = random.Random(1)
    waits = [rule.backoff_s(n, None, rng) for n in range(6)]
    for n, w in enumerate(waits):
        ceiling = min(4.0, 0.5 * 2**n)
        assert ceiling / 2 <= w <= ceiling


def test_retry_after_wins_when_longer():
    rule = RetryRule(base_s=0.1, max_s=1.0)
    assert rule.backoff_s(0, 7.0, random.Random(1)) == 7.0


class FakeClock:
    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t

    def sleep(self, s: float) -> None:
        self.t += s


def test_token_bucket_spaces_calls_at_the_configured_rate():
    clock = FakeClock()
    bucket = TokenBucket(20.0, clock=clock, sleep=clock.sleep)
    for _ in range(201):
        bucket.acquire()
    assert abs(clock.t - 10.0) < 1e-9  # 200 intervals of 50 ms


def test_a_rate_of_zero_means_no_limit():
    clock = FakeClock()
    bucket = TokenBucket(0, clock=clock, sleep=clock.sleep)
    for _ in range(1000):
        bucket.acquire()
    assert clock.t == 0.0
