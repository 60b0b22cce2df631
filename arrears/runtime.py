"""What the day's tasks share: built once per flow run from settings, passed down."""

from __future__ import annotations

import multiprocessing
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import Engine

from arrears.db import make_engine
from arrears.messaging.checks import check_policy_templates
from arrears.policy import Policy, load_policy
from arrears.ratelimit import TokenBucket
from arrears.settings import Settings

T = TypeVar("T")


class InlineExecutor(Executor):
    """Runs work in the calling thread (workers=1, and for debugging)."""

    def submit(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> Future[T]:
        future: Future[T] = Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except BaseException as err:  # noqa: BLE001 - handed to the caller through the future
            future.set_exception(err)
        return future


class RateLimits:
    """The run's token buckets, one per provider. A plain object on purpose: Prefect rebuilds
    dataclasses and dicts among task parameters for each task, which would give every task
    a bucket of its own; this one is passed by reference."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._buckets: dict[str, TokenBucket] = {}
        self._lock = threading.Lock()

    def bucket(self, channel: str) -> TokenBucket:
        with self._lock:
            if channel not in self._buckets:
                s = self._settings
                rate = s.sms_rate_per_s if channel == "sms" else s.email_rate_per_s
                # one slot of credit per sender thread: a slot missed while every thread was busy is caught up
                self._buckets[channel] = TokenBucket(rate, burst=s.dispatch_threads)
            return self._buckets[channel]


@dataclass(frozen=True)
class Runtime:
    settings: Settings
    engine: Engine
    policy: Policy
    pool: Executor
    limiters: RateLimits

    def limiter(self, channel: str) -> TokenBucket:
        """One bucket per provider, shared by every dispatch task of this run."""
        return self.limiters.bucket(channel)

    @property
    def url(self) -> str:
        return self.settings.resolved_database_url

    @property
    def policy_path(self) -> str | None:
        return str(self.settings.policy_path) if self.settings.policy_path else None


@contextmanager
def open_runtime(settings: Settings) -> Iterator[Runtime]:
    """Engine, policy and a process pool (spawned: workers never inherit Prefect's threads)."""
    policy = load_policy(settings.policy_path)  # fail fast on a bad policy, before any work
    check_policy_templates(policy)
    engine = make_engine(settings.resolved_database_url)
    if settings.workers > 1:
        pool: Executor = ProcessPoolExecutor(settings.workers, mp_context=multiprocessing.get_context("spawn"))
    else:
        pool = InlineExecutor()
    try:
        yield Runtime(settings, engine, policy, pool, RateLimits(settings))
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
        engine.dispose()
