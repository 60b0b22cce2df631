"""The day's figures as the summary artifact, the CLI and the collection-run row show them."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal


@dataclass(frozen=True)
class RunFacts:
    """What only the run that writes the summary knows (the rest is read from the database)."""

    new_actions: int = 0  # planned by this run
    sent_in_run: int = 0  # provider calls that succeeded in this run
    incomplete: dict[str, int] = field(default_factory=dict)  # channel -> messages this run could not finish
    flow_run_id: str | None = None
    retry_command: str | None = None  # the exact command that retries the run
    deployed: bool = False  # a deployment's run: the UI's Retry reschedules it
    archive_problem: str | None = None  # letters could not be archived (names the folder)


@dataclass
class DaySummary:
    as_of: date
    loans: int = 0
    by_stage_risk: dict[tuple[str, str], int] = field(default_factory=dict)
    overdue: dict[tuple[str, str], Decimal] = field(default_factory=dict)  # (stage, currency) -> amount
    actions_by_channel: dict[str, int] = field(default_factory=dict)
    actions_by_action: dict[str, int] = field(default_factory=dict)
    new_actions: int = 0  # planned by this run (the rest were there already: a re-run)
    messages: dict[tuple[str, str], int] = field(default_factory=dict)  # (channel, status) -> outbox messages
    sent_in_run: int = 0  # provider calls that succeeded in this run (0 on a re-run of a finished day)
    letters: dict[str, int] = field(default_factory=dict)  # status -> the day's letters
    letter_failures: list[str] = field(default_factory=list)  # "reference: reason" of letters not produced
    cases_opened: int = 0
    cases_closed: dict[str, int] = field(default_factory=dict)  # close reason -> cases closed on the day
    open_cases: int = 0
    held: dict[str, int] = field(default_factory=dict)  # hold reason or guard rule -> the day's actions held
    guard: dict[tuple[str, str], int] = field(default_factory=dict)  # (verdict, rule) -> contacts, latest decision
    promises_judged: dict[str, int] = field(default_factory=dict)  # kept | partly_kept | broken -> judged on the day
    calls: dict[str, dict[str, int]] = field(default_factory=dict)  # collector -> status -> call tasks
    new_legal_cases: list[tuple[str, str, str, str]] = field(default_factory=list)  # reference, loan, rule, owner
    overdue_legal_tasks: list[tuple[str, str, str, str]] = field(default_factory=list)  # reference, task, owner, due
    overdue_disputes: list[tuple[str, str, str]] = field(default_factory=list)  # loan, opened, reply by
    dry_run: bool = False
    unsent: dict[tuple[str, str], int] = field(default_factory=dict)  # (channel, why) -> the day's messages unsent
    incomplete: dict[str, int] = field(default_factory=dict)  # channel -> messages this run could not finish
    flow_run_id: str | None = None  # the Prefect flow run that wrote the summary (for the retry command)
    retry_command: str | None = None  # the exact command that retries that run
    deployed: bool = False  # a deployment's run: the UI's Retry reschedules it for the worker
    archive_problem: str | None = None  # letters this run could not archive (a full disk, a read-only folder)

    def take(self, run: RunFacts) -> None:
        """Add what the run knows to the figures read from the database."""
        self.new_actions, self.sent_in_run, self.incomplete = run.new_actions, run.sent_in_run, dict(run.incomplete)
        self.flow_run_id, self.retry_command, self.deployed = run.flow_run_id, run.retry_command, run.deployed
        self.archive_problem = run.archive_problem

    def overdue_by_currency(self, stage: str | None = None) -> dict[str, Decimal]:
        """Overdue totals per currency (amounts in different currencies are never added)."""
        totals: dict[str, Decimal] = {}
        for (s, currency), amount in sorted(self.overdue.items()):
            if stage is None or s == stage:
                totals[currency] = totals.get(currency, Decimal(0)) + amount
        return totals

    def overdue_text(self, stage: str | None = None) -> str:
        totals = self.overdue_by_currency(stage)
        return "; ".join(f"{c} {v:,.2f}" for c, v in totals.items()) or "0.00"

    def message_count(self, channel: str, status: str | None = None) -> int:
        return sum(n for (c, st), n in self.messages.items() if c == channel and (status is None or st == status))

    @property
    def message_statuses(self) -> list[str]:
        return sorted({st for _, st in self.messages})

    @property
    def actions(self) -> int:
        return sum(self.actions_by_channel.values())

    def guard_count(self, verdict: str) -> int:
        return sum(n for (v, _), n in self.guard.items() if v == verdict)

    def guard_rules(self, verdict: str) -> list[tuple[str, int]]:
        return sorted(((r, n) for (v, r), n in self.guard.items() if v == verdict), key=lambda rn: (-rn[1], rn[0]))

    def stage_count(self, stage: str) -> int:
        return sum(n for (s, _), n in self.by_stage_risk.items() if s == stage)

    def as_json(self) -> dict[str, object]:
        return {
            "as_of": self.as_of.isoformat(),
            "loans": self.loans,
            "by_stage_risk": {f"{s}/{r}": n for (s, r), n in sorted(self.by_stage_risk.items())},
            "overdue": {f"{s}/{c}": str(v) for (s, c), v in sorted(self.overdue.items())},
            "actions_by_channel": dict(sorted(self.actions_by_channel.items())),
            "messages": {f"{c}/{st}": n for (c, st), n in sorted(self.messages.items())},
            "letters": dict(sorted(self.letters.items())),
            "cases": {"opened": self.cases_opened, "closed": self.cases_closed, "open": self.open_cases},
            "held": self.held,
            "guard": {f"{v}/{r}": n for (v, r), n in sorted(self.guard.items())},
            "promises_judged": self.promises_judged,
            "calls": self.calls,
            "new_legal_cases": [r for r, *_ in self.new_legal_cases],
            "overdue_legal_tasks": len(self.overdue_legal_tasks),
            "overdue_disputes": len(self.overdue_disputes),
            "incomplete": dict(sorted(self.incomplete.items())),
            "unsent": {f"{c}/{w}": n for (c, w), n in sorted(self.unsent.items())},
        }
