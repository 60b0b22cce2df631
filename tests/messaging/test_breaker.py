"""The circuit breaker and the summary's first line (pure)."""

from __future__ import annotations

from datetime import date

from arrears.providers.breaker import CircuitBreaker
from arrears.reports.day import DaySummary
from arrears.reports.status import failures, plural, status_line


class Clock:
    t = 0.0

    def __call__(self) -> float:
        return self.t


def test_the_breaker_opens_after_n_consecutive_failures_and_lets_one_probe_through_after_the_cooldown():
    clock = Clock()
    breaker = CircuitBreaker(3, cooldown_s=60, monotonic=clock)
    breaker.failed("500")
    breaker.failed("500")
    breaker.succeeded()  # an answer resets the count: failures must be consecutive
    for _ in range(3):
        assert breaker.allow()
        breaker.failed("HTTP 500 Internal Server Error")
    assert breaker.is_open and not breaker.allow() and "3 consecutive" in breaker.why()
    clock.t = 61
    assert breaker.allow() and not breaker.allow()  # one probe at a time
    breaker.failed("refused")  # the probe failed: open for another cooldown
    clock.t = 100
    assert not breaker.allow()
    clock.t = 122
    assert breaker.allow()
    breaker.succeeded()
    assert not breaker.is_open and breaker.allow() and breaker.trips == 1


def test_a_zero_threshold_never_opens():
    breaker = CircuitBreaker(0, 0)
    for _ in range(100):
        breaker.failed("500")
    assert breaker.allow()


def test_the_first_line_says_failed_with_the_count_the_reason_and_every_way_to_retry():
    s = DaySummary(date(2026, 11, 23), loans=300)
    s.messages = {("sms", "queued"): 66, ("email", "sent"): 40}
    s.incomplete = {"sms": 66, "email": 0}
    s.unsent = {("sms", "provider unavailable: circuit open"): 60, ("sms", "provider unavailable: 500"): 6}
    s.flow_run_id, s.deployed, s.retry_command = "abc", True, "prefect flow-run retry abc"
    assert status_line(s) == (
        "FAILED: 66 SMS not sent — provider unavailable: circuit open — retry: Retry in the Prefect UI, "
        "`prefect flow-run retry abc` or `arrears run --as-of 2026-11-23`"
    )
    assert [f.what for f in failures(s)] == ["66 SMS not sent — provider unavailable: circuit open"]


def test_the_first_line_says_ok_and_counts_in_words_that_agree():
    s = DaySummary(date(2026, 11, 23), loans=1)
    s.messages = {("sms", "sent"): 1}
    s.letters = {"rendered": 2}
    assert status_line(s) == "OK: 1 loan classified, 1 message sent for the day, 2 letters; nothing left to send"
    s.letters["failed"] = 1
    assert status_line(s).startswith("OK, with 1 problem to look at:")
    assert plural(1, "new legal case") == "1 new legal case" and plural(2, "new legal case") == "2 new legal cases"
