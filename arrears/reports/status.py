"""The first line a person reads: did the day do its work, and if not, what failed and what to do
(pure: from the ``DaySummary`` read back from the database and this run's dispatch counts)."""

from __future__ import annotations

from dataclasses import dataclass

from arrears.reports.day import DaySummary

CHANNELS = {"sms": ("SMS", "SMS"), "email": ("email", "emails")}
ENTRYPOINTS = {"daily-collection": "flows/daily.py:daily_collection", "backfill": "flows/backfill.py:backfill"}


def retry_command(flow_run_id: str, flow_name: str, has_deployment: bool) -> str:
    """The exact command that retries this flow run (from the repository root, in the venv): a
    deployment run is rescheduled for the worker; any other run is run again here, same id."""
    if has_deployment:
        return f"prefect flow-run retry {flow_run_id}"
    entrypoint = ENTRYPOINTS.get(flow_name, ENTRYPOINTS["daily-collection"])
    return f"prefect flow-run retry {flow_run_id} --entrypoint {entrypoint}"


def plural(n: int, one: str, many: str | None = None) -> str:
    """``1 new legal case``, ``2 new legal cases``: the count and the word that agrees with it."""
    return f"{n} {one if n == 1 else (many or one + 's')}"


def channel_count(n: int, channel: str) -> str:
    one, many = CHANNELS.get(channel, (channel, channel))
    return plural(n, one, many)


@dataclass(frozen=True)
class Failure:
    what: str  # what did not happen, with its count and why
    todo: str  # what a person does about it


def retry_ways(s: DaySummary) -> str:
    """Every way to retry the run: the retry sends, prints or escalates exactly what is missing."""
    ways = []
    if s.flow_run_id and s.deployed:
        ways.append("Retry in the Prefect UI")
    if s.retry_command:
        ways.append(f"`{s.retry_command}`")
    ways.append(f"`arrears run --as-of {s.as_of}`")
    return ", ".join(ways[:-1]) + f" or {ways[-1]}" if len(ways) > 1 else ways[0]


def top_reason(s: DaySummary, channel: str) -> str:
    reasons = sorted(((n, why) for (c, why), n in s.unsent.items() if c == channel), key=lambda nw: (-nw[0], nw[1]))
    return reasons[0][1] if reasons else "provider errors"


def failures(s: DaySummary) -> list[Failure]:
    found = []
    for channel, n in sorted(s.incomplete.items()):
        if n:
            found.append(
                Failure(
                    f"{channel_count(n, channel)} not sent — {top_reason(s, channel)}",
                    f"when the provider answers again, retry: {retry_ways(s)}. Only what is missing is sent.",
                )
            )
    for channel in CHANNELS:
        review = s.message_count(channel, "review")
        if review:
            found.append(
                Failure(
                    f"{channel_count(review, channel)} held for review — the provider could not say whether "
                    "they went out",
                    "check each at the provider (`arrears outbox list --status review`); if it did not go out, "
                    "`arrears outbox release KEY` and the next run sends it.",
                )
            )
        rejected = s.message_count(channel, "failed")
        if rejected:
            found.append(
                Failure(
                    f"{channel_count(rejected, channel)} refused by the provider for good (bad number or address)",
                    "correct the contact data in the book (`arrears outbox list --status failed` shows the "
                    "provider's reason); these are not retried.",
                )
            )
    if s.archive_problem:
        found.append(
            Failure(
                s.archive_problem,
                f"free the letters folder (or make it writable), then retry: {retry_ways(s)}. Only the letters "
                "missing are rendered; the rest of the day went on.",
            )
        )
    failed_letters = s.letters.get("failed", 0)
    if failed_letters and not s.archive_problem:
        found.append(
            Failure(
                f"{plural(failed_letters, 'demand letter')} not produced",
                "the reasons are listed under Demand letters; the next run renders them again.",
            )
        )
    return found


def status_line(s: DaySummary) -> str:
    """``FAILED: 66 SMS not sent — provider unavailable: ... — retry: ...`` or ``OK: ...``."""
    if s.dry_run:
        return f"DRY RUN: {plural(s.loans, 'loan')} classified, {plural(s.actions, 'action')} planned; nothing sent"
    unsent = [(c, n) for c, n in sorted(s.incomplete.items()) if n]
    if unsent or s.archive_problem:
        what = [f"{channel_count(n, c)} not sent — {top_reason(s, c)}" for c, n in unsent]
        what += [s.archive_problem] if s.archive_problem else []
        return f"FAILED: {'; '.join(what)} — retry: {retry_ways(s)}"
    sent = sum(s.message_count(c, "sent") for c in CHANNELS)
    letters = s.letters.get("rendered", 0)
    done = f"{plural(s.loans, 'loan')} classified, {plural(sent, 'message')} sent for the day, " + plural(
        letters, "letter"
    )
    problems = failures(s)
    if problems:
        return f"OK, with {plural(len(problems), 'problem')} to look at: {done}"
    return f"OK: {done}; nothing left to send"
