"""Dispatch: settle what a run that is gone left ``sending`` (a live run's messages are its own to
settle: see ``arrears.store.leases``), expire what is too old to send, drop earlier days' reminders
about loans cured since, and send a chunk of queued messages through the provider's SDK, exactly
once (see ``arrears.steps.sender``)."""

from __future__ import annotations

import time
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import date, timedelta

from arrears.faults import crash_point
from arrears.providers.factory import build_provider, routes
from arrears.providers.routing import ResidencyRefused, residency_problem
from arrears.runtime import Runtime, heartbeat_s
from arrears.steps.guard import screen
from arrears.steps.sender import Dispatcher, DispatchReport, RetryRule
from arrears.store import events, leases, outbox
from models.message import QUEUED


@dataclass(frozen=True)
class Settled:
    ids: list[int]  # queued messages due now, a borrower's together
    report: DispatchReport
    stuck: int  # messages a run that is gone left `sending` (reconciled now)
    in_flight: int = 0  # messages another live run is sending (its to settle)


def dispatcher(rt: Runtime, channel: str, provider: str, log: Callable[[str], None] = lambda _m: None) -> Dispatcher:
    """The sender for one provider of a channel: its SDK client, the run's shared rate bucket and
    circuit breaker for that provider, and the send-time guard deciding at the run's clock (a
    message planned at 20:59 and sent at 21:01 waits). A provider outside the data region is
    refused here, before any message is claimed."""
    s, rules = rt.settings, rt.policy.guard_rules
    built = build_provider(provider, s, policy=rt.policy)
    problem = residency_problem(built.name, built.region, s.data_region)
    if problem:
        raise ResidencyRefused(problem)
    return Dispatcher(
        rt.engine,
        built,
        limiter=rt.limiter(built.name),
        retry=RetryRule(s.retry_attempts, s.retry_base_s, s.retry_max_s, s.lookup_delay_s),
        now=rt.clock.wall,
        sleep=time.sleep,
        threads=s.dispatch_threads,
        log=log,
        letters_dir=s.resolved_letters_dir,
        screen=lambda conn, rows: screen(conn, rows, rules, rt.clock.now()),
        lease=rt.lease,
        breaker=rt.limiters.breaker(built.name),
    )


def by_provider(rt: Runtime, channel: str, ids: list[int]) -> dict[str, list[int]]:
    """The ids each provider carries: the one a message was claimed for (it may be in flight
    there), else its route by recipient (``arrears.providers.routing``)."""
    route = routes(channel, rt.settings)
    with rt.engine.connect() as conn:
        found = outbox.recipients_of(conn, ids)
    out: dict[str, list[int]] = {}
    for message_id in ids:
        recipient, claimed_by = found[message_id]
        out.setdefault(claimed_by or route.provider_for(recipient), []).append(message_id)
    return out


def gone_leases(rt: Runtime, lease_ids: set[int], sleep: Callable[[float], None] = time.sleep) -> set[int]:
    """Which of these leases' runs are gone: released, or silent beyond the TTL. Each lease is
    watched until it is seen renewed (alive: its run settles its own messages; a live run renews
    every ``heartbeat_s``) or gone — at most one TTL. A recent heartbeat alone proves nothing: the
    run may have died just after it."""
    ttl = timedelta(seconds=rt.settings.lease_ttl_s)
    pending, gone = set(lease_ids), set()
    with rt.engine.connect() as conn:
        first = leases.lease_states(conn, pending)
    deadline = time.monotonic() + ttl.total_seconds() + heartbeat_s(rt.settings.lease_ttl_s)
    while pending:
        with rt.engine.connect() as conn:
            states = leases.lease_states(conn, pending)
        now = rt.clock.wall()
        for lease_id in sorted(pending):
            state, seen = states.get(lease_id), first.get(lease_id)
            if state is None or seen is None or state.gone(now, ttl):
                gone.add(lease_id)
                pending.discard(lease_id)
            elif state.heartbeat_at > seen.heartbeat_at:
                pending.discard(lease_id)  # renewed while we watched: alive
        if not pending or time.monotonic() > deadline:
            break
        sleep(heartbeat_s(rt.settings.lease_ttl_s) / 4)
    return gone


def settle_outbox(rt: Runtime, channel: str, as_of: date, log: Callable[[str], None] = lambda _m: None) -> Settled:
    """Reconcile, expire and drop (see the module), then the ids of messages to send now: queued,
    of this day or earlier days still fresh, not deferred past the run's clock."""
    report = DispatchReport()
    now = rt.clock.now()
    with rt.engine.connect() as conn:
        sending = outbox.sending_with_leases(conn, channel)
    own = rt.lease.id if rt.lease is not None else None
    held = {lease for _, lease in sending if lease is not None and lease != own}
    gone = gone_leases(rt, held) if held else set()
    stuck = [i for i, lease in sending if lease is None or lease in gone]  # no lease: claimed before leases
    if stuck:
        settle_after = rt.settings.provider_timeout_s + rt.settings.lookup_delay_s
        for provider, ids in by_provider(rt, channel, stuck).items():
            report = report + dispatcher(rt, channel, provider, log).reconcile(ids, settle_after)
    cutoff = rt.settings.today(now) - timedelta(days=rt.policy.messages.stale_after_days)
    crash_point("settle.reconciled")
    with rt.engine.begin() as conn:  # after reconciling: a re-queued message of an old day expires too
        events.link_orphan_events(conn, channel)
        report.expired = outbox.expire_stale(conn, channel, cutoff, rt.clock.wall())
        report.suppressed = outbox.suppress_cured(conn, channel, as_of, rt.clock.wall())
        ids = outbox.ids_in_status(conn, channel, QUEUED, as_of, due_by=now)
    in_flight = sum(1 for _, lease in sending if lease is not None and lease != own and lease not in gone)
    return Settled(ids, report, len(stuck), in_flight)


def send_chunk(
    rt: Runtime, channel: str, ids: list[int], log: Callable[[str], None] = lambda _m: None
) -> DispatchReport:
    """Send one chunk, each message through its provider. Every chunk of the run draws on the same
    per-provider token bucket, so the configured rate holds across concurrent tasks; and the run
    sends through a provider only while it holds the provider's send slot, so it holds across runs
    and machines too (``arrears.store.slots``)."""
    report = DispatchReport()
    for provider, part in by_provider(rt, channel, ids).items():
        with rt.lease.sending_through(provider) if rt.lease else nullcontext():
            report = report + dispatcher(rt, channel, provider, log).send(part)
    return report


def unsent_reasons(rt: Runtime, ids: list[int]) -> list[tuple[str, int]]:
    """Why these messages are still unsent, most common first."""
    with rt.engine.connect() as conn:
        return outbox.unsent_of(conn, ids)


def chunks(ids: list[int], size: int) -> list[list[int]]:
    return [ids[i : i + size] for i in range(0, len(ids), size)]
