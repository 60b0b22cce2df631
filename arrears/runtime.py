"""What the day's tasks share: built once per flow run from settings, passed down.

The run's clock lives here too: ``Clock.now()`` is the moment decisions are made at (the given
``--now`` of a replayed day, else the wall clock when asked), ``Clock.wall()`` when something
really happened (audit columns, provider timing). Every step reads the clock from the runtime.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import socket
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from arrears.db import make_engine
from arrears.messaging.checks import check_policy_templates
from arrears.policy import Policy, load_policy
from arrears.providers.breaker import CircuitBreaker
from arrears.providers.factory import require_providers
from arrears.providers.ratelimit import TokenBucket
from arrears.settings import Settings
from arrears.store import leases, slots

T = TypeVar("T")
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Clock:
    """``given``: the moment the run acts at (a replayed day's ``--now``); None: the wall clock."""

    given: datetime | None = None

    def __post_init__(self) -> None:
        if self.given is not None and self.given.tzinfo is None:
            raise ValueError("the clock must be timezone-aware")

    def now(self) -> datetime:
        """The moment decisions are made at: the given one, else the wall clock read now."""
        return self.given or datetime.now(UTC)

    @staticmethod
    def wall() -> datetime:
        """When something really happens (audit timestamps, waits): always the wall clock."""
        return datetime.now(UTC)

    def today(self, settings: Settings) -> date:
        """The lender's calendar day at ``now()``."""
        return settings.today(self.now())


def heartbeat_s(ttl_s: float) -> float:
    """How often a lease is renewed: a fifth of its TTL, at most every 2 s (so another run can
    see it renewed, i.e. alive, within seconds)."""
    return min(ttl_s / 5, 2.0)


class Lease:
    """This run's lease (``arrears.store.leases``): opened when the run starts, renewed by a
    heartbeat thread every ``heartbeat_s`` while the process lives, released when it ends.

    ``fresh()`` says whether the last renewal is recent enough (within half the TTL) that no other
    run can take this one for gone while a provider call it starts now is in flight: the sender
    asks before every call, so a run whose heartbeat cannot reach the database stops sending
    (its messages stay queued) instead of racing a reconciler. A plain object, shared by reference
    among the run's tasks (see ``RateLimits``).
    """

    def __init__(self, engine: Engine, ttl_s: float, kind: str, flow_run_id: str | None) -> None:
        self.engine = engine
        self.ttl = timedelta(seconds=ttl_s)
        holder = f"{socket.gethostname()}:{os.getpid()}"
        with engine.begin() as conn:
            self.id = leases.open_lease(conn, kind, holder, flow_run_id, Clock.wall())
        self._renewed = time.monotonic()
        self._slot_users: dict[str, int] = {}
        self._slot_gates: dict[str, threading.Lock] = defaultdict(threading.Lock)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, name=f"lease-{self.id}", daemon=True)
        self._thread.start()

    def fresh(self) -> bool:
        return time.monotonic() - self._renewed < self.ttl.total_seconds() / 2

    def _beat(self) -> None:
        while not self._stop.wait(heartbeat_s(self.ttl.total_seconds())):
            try:
                with self.engine.begin() as conn:
                    if not leases.beat(conn, self.id, Clock.wall()):
                        return  # released: nothing left to renew
                self._renewed = time.monotonic()
            except SQLAlchemyError as err:  # the database is away: fresh() turns false, sending pauses
                log.warning("lease %s not renewed: %s", self.id, type(err).__name__)

    @contextmanager
    def sending_through(self, provider: str, wait: Callable[[float], None] = time.sleep) -> Iterator[None]:
        """Hold the provider's send slot while the block sends (``arrears.store.slots``): the first of
        the run's send tasks to ask takes it — waiting while another live run holds it —, the last to
        finish gives it back. The run's tasks share its rate bucket, so together they keep the rate."""
        with self._slot_gates[provider]:
            if not self._slot_users.get(provider):
                self._take_slot(provider, wait)
            self._slot_users[provider] = self._slot_users.get(provider, 0) + 1
        try:
            yield
        finally:
            with self._slot_gates[provider]:
                self._slot_users[provider] -= 1
                if not self._slot_users[provider]:
                    try:
                        with self.engine.begin() as conn:
                            slots.give_back(conn, provider, self.id)
                    except SQLAlchemyError as err:  # free anyway once this lease is released or lapses
                        log.warning("send slot of %s not given back: %s", provider, type(err).__name__)

    def _take_slot(self, provider: str, wait: Callable[[float], None]) -> None:
        told = None
        while True:
            with self.engine.begin() as conn:
                holder = slots.take(conn, provider, self.id, Clock.wall(), self.ttl)
            if holder is None:
                return
            if holder != told:
                log.warning("%s: run lease %s is sending through it; waiting for it to finish", provider, holder)
                told = holder
            wait(min(1.0, self.ttl.total_seconds() / 4))

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)
        try:
            with self.engine.begin() as conn:
                leases.release(conn, self.id, Clock.wall())
        except SQLAlchemyError as err:  # it expires by itself after the TTL
            log.warning("lease %s not released: %s", self.id, type(err).__name__)


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
    """The run's per-provider state: a token bucket and a circuit breaker each. A plain object on
    purpose: Prefect rebuilds dataclasses and dicts among task parameters for each task, which
    would give every task a bucket of its own; this one is passed by reference."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._buckets: dict[str, TokenBucket] = {}
        self._breakers: dict[str, CircuitBreaker] = {}
        self._lock = threading.Lock()

    def breaker(self, provider: str) -> CircuitBreaker:
        with self._lock:
            if provider not in self._breakers:
                s = self._settings
                self._breakers[provider] = CircuitBreaker(s.breaker_failures, s.breaker_cooldown_s)
            return self._breakers[provider]

    def bucket(self, provider: str) -> TokenBucket:
        """The provider's rate: requests per second as it counts them (``ARREARS_<PROVIDER>_RATE_PER_S``;
        Twilio's is ``ARREARS_SMS_RATE_PER_S``, SendGrid's ``ARREARS_EMAIL_RATE_PER_S``)."""
        with self._lock:
            if provider not in self._buckets:
                s = self._settings
                rate = {
                    "twilio": s.sms_rate_per_s, "sms": s.sms_rate_per_s, "sendgrid": s.email_rate_per_s,
                    "email": s.email_rate_per_s, "aliyun": s.aliyun_rate_per_s, "smtp": s.smtp_rate_per_s,
                }[provider]  # fmt: skip
                # one slot of credit per sender thread: a slot missed while every thread was busy is caught up
                self._buckets[provider] = TokenBucket(rate, burst=s.dispatch_threads)
            return self._buckets[provider]


class Runtime:
    """What every step of a run works with: settings, engine, policy, process pool, rate limits,
    clock and (for runs that send) the run's lease.

    A plain class on purpose: Prefect walks the dataclasses and pydantic models among a task's
    parameters, field by field (every setting and every rule of the policy, for each task run,
    tens of milliseconds each) and rebuilds them; an object of a plain class is passed as it is."""

    __slots__ = ("settings", "engine", "policy", "pool", "limiters", "clock", "lease")

    def __init__(
        self, settings: Settings, engine: Engine, policy: Policy, pool: Executor, limiters: RateLimits,
        clock: Clock | None = None, lease: Lease | None = None,
    ) -> None:  # fmt: skip
        self.settings = settings
        self.engine = engine
        self.policy = policy
        self.pool = pool
        self.limiters = limiters
        self.clock = clock or Clock()
        self.lease = lease  # held by runs that send (daily, dispatch); None: a script's runtime

    def replace(self, **changes: object) -> Runtime:
        """A copy with ``changes`` (keyword per attribute)."""
        values: dict[str, Any] = {name: getattr(self, name) for name in self.__slots__}
        return Runtime(**{**values, **changes})

    @classmethod
    def of(
        cls, engine: Engine, settings: Settings, policy: Policy | None = None, clock: Clock | None = None
    ) -> Runtime:
        """A runtime on an engine the caller owns, working in the calling process (scripts, benchmarks, tests)."""
        policy = policy or load_policy(settings.policy_path)
        return cls(settings, engine, policy, InlineExecutor(), RateLimits(settings), clock or Clock())

    def limiter(self, provider: str) -> TokenBucket:
        """One bucket per provider, shared by every dispatch task of this run."""
        return self.limiters.bucket(provider)

    @property
    def url(self) -> str:
        return self.settings.resolved_database_url

    @property
    def policy_path(self) -> str | None:
        return str(self.settings.policy_path) if self.settings.policy_path else None


@contextmanager
def open_runtime(settings: Settings, clock: Clock | None = None) -> Iterator[Runtime]:
    """Engine, policy and a process pool (spawned: workers never inherit Prefect's threads)."""
    policy = load_policy(settings.policy_path)  # fail fast on a bad policy, before any work
    check_policy_templates(policy)
    require_providers(settings, policy)  # a provider outside the data region, a template Alibaba registered otherwise
    engine = make_engine(settings.resolved_database_url)
    if settings.workers > 1:
        pool: Executor = ProcessPoolExecutor(settings.workers, mp_context=multiprocessing.get_context("spawn"))
    else:
        pool = InlineExecutor()
    try:
        yield Runtime(settings, engine, policy, pool, RateLimits(settings), clock or Clock())
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
        engine.dispose()


@contextmanager
def leased(rt: Runtime, kind: str, flow_run_id: str | None) -> Iterator[Runtime]:
    """The runtime holding the run's lease (``kind``: daily, dispatch) until the block ends; the
    schema must be at head (runs migrate first)."""
    lease = Lease(rt.engine, rt.settings.lease_ttl_s, kind, flow_run_id)
    try:
        yield rt.replace(lease=lease)
    finally:
        lease.close()


# -- in a pool worker: what a batch function builds once per process ----------------------------


@lru_cache(maxsize=4)
def worker_engine(url: str) -> Engine:
    """One engine per worker process and URL."""
    return make_engine(url)


@lru_cache(maxsize=4)
def worker_policy(path: str | None) -> Policy:
    """The policy, loaded once per worker process."""
    return load_policy(Path(path) if path else None)
