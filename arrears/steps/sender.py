"""Send the outbox: exactly once, or held for a person to decide — never twice.

The rule: a message is `sending` in the database before its provider call and `sent`
with the provider's id after it. When the answer is lost (timeout, dropped connection,
5xx) we ask the provider before trying again; what the provider cannot settle stays
`sending` and the next run's reconciliation decides it, or holds it for review.
The wall clock (``now``: timestamps and waits), ``sleep``, the randomness of jitter and the
send-time guard (``screen``, deciding at the run's clock) are passed in.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, fields, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy import Engine

from arrears.faults import crash_point
from arrears.guard import Decision
from arrears.messaging.batching import Mergeable, Shared, batch
from arrears.privacy import mask_recipient
from arrears.providers.breaker import CircuitBreaker
from arrears.providers.outcomes import (
    Accepted,
    Envelope,
    LookupFailed,
    Provider,
    Rejected,
    Retryable,
)
from arrears.providers.ratelimit import TokenBucket
from arrears.steps.attachments import LetterUnavailable, attaches, carries_letter, letter_attachment
from arrears.store import events, outbox
from models.message import FAILED, QUEUED, REVIEW, SENT, SUPPRESSED


@dataclass(frozen=True)
class RetryRule:
    attempts: int = 6
    base_s: float = 0.5
    max_s: float = 30.0
    lookup_delay_s: float = 1.0

    def backoff_s(self, retry: int, retry_after_s: float | None, rng: random.Random) -> float:
        """Exponential backoff with jitter (half to full of base*2^retry, capped); Retry-After wins if longer."""
        ceiling = min(self.max_s, self.base_s * (2**retry))
        wait = ceiling * rng.uniform(0.5, 1.0)
        return max(wait, retry_after_s or 0.0)


@dataclass
class DispatchReport:
    sent: int = 0
    failed: int = 0
    suppressed: int = 0
    left_queued: int = 0  # provider unavailable: the next run sends them
    undecided: int = 0  # answer lost and lookup failed: still `sending`, for reconciliation
    held: int = 0  # reconciliation could not decide: `review`
    requeued: int = 0  # reconciliation proved unsent
    recovered: int = 0  # reconciliation found them sent
    expired: int = 0
    deferred: int = 0  # the guard moved them to the next allowed moment (sent by a later dispatch)
    requests: int = 0  # provider send calls

    def __add__(self, other: DispatchReport) -> DispatchReport:
        return DispatchReport(**{f.name: getattr(self, f.name) + getattr(other, f.name) for f in fields(self)})

    @property
    def incomplete(self) -> int:
        return self.left_queued + self.undecided + self.held


def envelope(row: Any) -> Envelope:
    return Envelope(
        row.key, row.recipient, row.body_text, row.subject, row.body_html, row.template, row.locale,
        fields=outbox.fields_of(row),
    )  # fmt: skip


class HeldLease(Protocol):
    """The run's lease as the sender needs it (``arrears.runtime.Lease``)."""

    id: int

    def fresh(self) -> bool: ...


class Dispatcher:
    def __init__(
        self,
        engine: Engine,
        provider: Provider,
        *,
        limiter: TokenBucket,
        retry: RetryRule,
        now: Callable[[], datetime],
        sleep: Callable[[float], None],
        threads: int = 4,
        rng: random.Random | None = None,
        log: Callable[[str], None] = lambda _m: None,
        letters_dir: Path | None = None,
        screen: Callable[[Any, list[Any]], dict[int, Decision]] | None = None,
        lease: HeldLease | None = None,
        breaker: CircuitBreaker | None = None,
    ) -> None:
        self.engine = engine
        self.provider = provider
        self.limiter = limiter
        self.retry = retry
        self.now = now
        self.sleep = sleep
        self.threads = threads
        self.rng = rng or random.Random()  # noqa: S311 - jitter, not security
        self.log = log
        self.letters_dir = letters_dir
        self.screen = screen  # the contact-rules guard, asked again just before sending
        self.lease = lease  # the run's lease: claims carry it; no call starts while it is stale
        self.breaker = breaker or CircuitBreaker(0, 0)  # the run's, shared by its sender threads

    @property
    def lease_id(self) -> int | None:
        return self.lease.id if self.lease is not None else None

    # -- reconciliation -------------------------------------------------------------
    def reconcile(self, ids: Sequence[int], settle_after_s: float) -> DispatchReport:
        """Decide messages a crashed run left `sending`: sent (found at the provider),
        queued again (provably not sent), or held for review (the provider can't say)."""
        report = DispatchReport()
        with self.engine.connect() as conn:
            rows = outbox.load(conn, ids)
        for row in rows:
            if row.status != "sending":
                continue
            sending_at = row.sending_at or row.updated_at
            settled_at = sending_at + timedelta(seconds=settle_after_s)
            wait = (settled_at - self.now()).total_seconds()
            if wait > 0:  # its request could still be in flight: wait until it can't be
                self.sleep(wait)
            try:
                found = self.provider.lookup(envelope(row), sending_at.timestamp())
            except LookupFailed as err:
                self._settle(row.id, row.attempts, status=REVIEW, reason=f"held for review: {err}"[:300])
                report.held += 1
                continue
            if found:
                self._settle(row.id, row.attempts, status=SENT, provider=self.provider.name, provider_id=found)
                report.recovered += 1
            else:
                self._settle(row.id, row.attempts, status=QUEUED, reason=None)
                report.requeued += 1
        return report

    # -- sending ------------------------------------------------------------------
    def send(self, ids: Sequence[int]) -> DispatchReport:
        """Send these queued messages (others' and non-queued ones are skipped)."""
        with self.engine.begin() as conn:
            rows = [r for r in outbox.load(conn, ids) if r.status == QUEUED]
            opted_out = self._suppress_opted_out(conn, rows)
            rows = [r for r in rows if r.id not in opted_out]
            decisions = self.screen(conn, rows) if self.screen else {}
        stopped = {i for i, d in decisions.items() if d.verdict == "suppress"}
        later = {i for i, d in decisions.items() if d.verdict == "defer"}
        report = DispatchReport(suppressed=len(opted_out) + len(stopped), deferred=len(later))
        rows = [r for r in rows if r.id not in stopped and r.id not in later]
        waiting = [r for r in rows if carries_letter(r) and r.letter_status is None]
        if waiting:  # its letter is not rendered yet: the email waits (the flow renders letters first)
            self.log(f"{len(waiting)} emails wait for their letter to be rendered")
            report.left_queued += len(waiting)
            rows = [r for r in rows if not (carries_letter(r) and r.letter_status is None)]
        groups = self._groups(rows)
        with ThreadPoolExecutor(max(1, min(self.threads, len(groups)))) as pool:
            for part in pool.map(lambda g: self._deliver(*g), groups):
                report = report + part
        return report

    def _envelope(self, row: Any) -> Envelope:
        env = envelope(row)
        if not attaches(row):
            return env
        if self.letters_dir is None:
            raise LetterUnavailable(f"letter {row.letter_reference} not attached: no letters directory configured")
        return replace(env, attachments=(letter_attachment(row, self.letters_dir),))

    def _suppress_opted_out(self, conn: Any, rows: list[Any]) -> set[int]:
        """Someone may have replied STOP since the message was queued: suppress, don't send."""
        channel = rows[0].channel if rows else "sms"
        opted = outbox.suppressed(conn, channel, (r.recipient for r in rows))
        done = set()
        for r in rows:
            if r.recipient in opted and outbox.suppress_queued(
                conn, r.id, f"opted out ({opted[r.recipient]})", self.now()
            ):
                done.add(r.id)
        return done

    def _groups(self, rows: list[Any]) -> list[tuple[list[Any], Shared | None]]:
        """The provider's requests: one message each, a list of one template's messages (up to
        ``max_batch``), or — for a provider that shares content — one body with substitutions."""
        size = self.provider.max_batch
        if size <= 1:
            return [([r], None) for r in rows]
        if not self.provider.shared_content:
            by_template: dict[tuple[str, str], list[Any]] = {}
            for r in rows:
                by_template.setdefault((r.template, r.locale), []).append(r)
            return [(same[i : i + size], None) for same in by_template.values() for i in range(0, len(same), size)]
        return self._shared_groups(rows)

    def _shared_groups(self, rows: list[Any]) -> list[tuple[list[Any], Shared | None]]:
        groups: list[tuple[list[Any], Shared | None]] = []
        by_template: dict[tuple[str, str], list[Any]] = {}
        for r in rows:
            if attaches(r):  # attachments are per request: sent alone
                groups.append(([r], None))
                continue
            by_template.setdefault((r.template, r.locale), []).append(r)
        for same in by_template.values():
            merge = [Mergeable(r.subject or "", r.body_text, r.body_html or "", outbox.fields_of(r)) for r in same]
            for idx, shared in batch(merge):
                groups.append(([same[i] for i in idx], shared))
        return groups

    def _deliver(self, rows: list[Any], shared: Shared | None) -> DispatchReport:
        """One request's messages: each attempt takes its rate token, then claims (or retakes) the
        messages, then calls — so a message waits for its token `queued`, never `sending`."""
        report = DispatchReport()
        try:  # read (and check) any attachment once, before the claim, the rate slot and the retries
            prepared = {row.id: self._envelope(row) for row in rows}
        except LetterUnavailable as err:
            with self.engine.begin() as conn:
                for row in rows:
                    outbox.note_queued(conn, row.id, str(err)[:300], self.now())
            report.left_queued += len(rows)
            self.log(str(err))
            return report
        owned: list[tuple[Any, int]] = []
        since, after, reason = self.now().timestamp(), None, ""
        for retry in range(self.retry.attempts):
            if retry:
                self.sleep(self.retry.backoff_s(retry - 1, after, self.rng))
            if not self.breaker.allow():  # the provider is down: keep the rest queued, don't wait on it
                return report + self._left_by_breaker(rows, owned, first=not retry)
            self.provider.prepare()  # the SDK's lazy imports and this thread's client, outside the timed slot
            self.limiter.acquire()  # the rate is what the provider sees
            if not self._lease_fresh():
                return report + self._unleased(owned, len(rows) if not retry else 0)
            if retry:
                owned = self._retake(owned)
            else:
                owned, shared = self._claim(rows, shared)
                since = self.now().timestamp()
            if not owned:
                return report
            crash_point("dispatch.claimed")
            outcome = self.provider.send([prepared[r.id] for r, _ in owned], shared if len(owned) > 1 else None)
            report.requests += 1
            if isinstance(outcome, Accepted | Rejected):
                self.breaker.succeeded()
            elif not (isinstance(outcome, Retryable) and outcome.throttled):  # a 429 is pacing, not an outage
                self.breaker.failed(outcome.reason)
            if isinstance(outcome, Accepted):
                crash_point("dispatch.accepted")
                with self.engine.begin() as conn:  # the whole batch in one transaction
                    for i, (row, attempt) in enumerate(owned):
                        outbox.settle(
                            conn, row.id, attempt, self.now(), status=SENT, provider=self.provider.name,
                            provider_id=outcome.id_of(i), error_code=None, reason=None,
                        )  # fmt: skip
                        events.link_early_events(conn, row.id, outcome.id_of(i))
                crash_point("dispatch.settled")
                report.sent += len(owned)
                return report
            if isinstance(outcome, Rejected):
                return report + self._rejected(owned, outcome)
            if not isinstance(outcome, Retryable) or not outcome.definite:
                owned = self._settle_by_lookup(owned, report, since)
            if not owned:
                return report
            after = outcome.retry_after_s if isinstance(outcome, Retryable) else None
            reason = outcome.reason
        for row, attempt in owned:  # retry budget spent: provably unsent, back to the queue
            self._settle(row.id, attempt, status=QUEUED, reason=f"provider unavailable: {reason}"[:300])
            report.left_queued += 1
        return report

    def _left_by_breaker(self, rows: list[Any], owned: list[tuple[Any, int]], first: bool) -> DispatchReport:
        """The circuit is open: what this request holds goes back to the queue (proven unsent), the
        rest stays queued, each with the reason; the next run (or a retry) sends them."""
        reason = f"provider unavailable: {self.breaker.why()}"[:300]
        for row, attempt in owned:
            self._settle(row.id, attempt, status=QUEUED, reason=reason)
        if first:
            with self.engine.begin() as conn:
                for row in rows:
                    outbox.note_queued(conn, row.id, reason, self.now())
        return DispatchReport(left_queued=len(rows) if first else len(owned))

    def _lease_fresh(self) -> bool:
        return self.lease is None or self.lease.fresh()

    def _claim(self, rows: list[Any], shared: Shared | None) -> tuple[list[tuple[Any, int]], Shared | None]:
        """queued -> sending for the request's messages still queued (another run may have taken
        some: a batch then goes out with the rest of its personalizations)."""
        with self.engine.begin() as conn:
            claimed = outbox.claim_many(conn, [r.id for r in rows], self.now(), self.lease_id, self.provider.name)
        kept = [i for i, row in enumerate(rows) if row.id in claimed]
        if shared is not None and len(kept) < len(rows):
            shared = shared.subset(kept) if len(kept) > 1 else None
        return [(rows[i], claimed[rows[i].id]) for i in kept], shared

    def _unleased(self, owned: list[tuple[Any, int]], unclaimed: int) -> DispatchReport:
        """The run's lease was not renewed lately (the database is out of reach): send nothing more;
        what it holds goes back to the queue, proven unsent, for a later run."""
        reason = "not sent: this run's lease could not be renewed (database unreachable)"
        for row, attempt in owned:
            self._settle(row.id, attempt, status=QUEUED, reason=reason)
        self.log(f"{len(owned) + unclaimed} messages left queued: {reason}")
        return DispatchReport(left_queued=len(owned) + unclaimed)

    def _rejected(self, owned: list[tuple[Any, int]], outcome: Rejected) -> DispatchReport:
        report = DispatchReport()
        if len(owned) > 1:  # one bad address must not sink the batch: send them one by one
            for row, attempt in owned:
                self._settle(row.id, attempt, status=QUEUED)
            for row, _ in owned:
                report = report + self._deliver([row], None)
            return report
        ((row, attempt),) = owned
        status = SUPPRESSED if outcome.opted_out else FAILED
        self._settle(
            row.id,
            attempt,
            status=status,
            provider=self.provider.name,
            error_code=outcome.code,
            reason=outcome.reason[:300],
        )
        if outcome.opted_out:
            with self.engine.begin() as conn:
                outbox.add_suppression(
                    conn, row.channel, row.recipient, "STOP", f"{self.provider.name}:{outcome.code}", self.now()
                )
            report.suppressed += 1
        else:
            report.failed += 1
        self.log(f"{row.key} to {mask_recipient(row.channel, row.recipient)} rejected: {outcome.code} {outcome.reason}")
        return report

    def _settle_by_lookup(
        self, owned: list[tuple[Any, int]], report: DispatchReport, since: float
    ) -> list[tuple[Any, int]]:
        """The answer was lost: ask the provider. Returns the messages proven unsent."""
        self.sleep(self.retry.lookup_delay_s)
        unsent = []
        for row, attempt in owned:
            try:
                found = self.provider.lookup(envelope(row), since)
            except LookupFailed:
                report.undecided += 1  # stays `sending`: reconciliation decides
                continue
            if found:
                self._settle(row.id, attempt, status=SENT, provider=self.provider.name, provider_id=found)
                report.sent += 1
            else:
                unsent.append((row, attempt))
        return unsent

    def _retake(self, owned: list[tuple[Any, int]]) -> list[tuple[Any, int]]:
        kept = []
        for row, attempt in owned:
            with self.engine.begin() as conn:
                again = outbox.retake(conn, row.id, attempt, self.now(), self.lease_id)
            if again is not None:
                kept.append((row, again))
        return kept

    def _settle(self, message_id: int, attempt: int | None, **values: Any) -> bool:
        with self.engine.begin() as conn:
            return outbox.settle(conn, message_id, attempt, self.now(), **values)
