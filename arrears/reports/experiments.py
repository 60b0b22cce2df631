"""Champion/challenger results: per arm, what its loans did since they joined, and each challenger
against the champion with 95 % confidence intervals and a plain verdict (pure: facts in, figures
out).

The measures, per arm:

* **cure rate** — loans delinquent when they joined whose case was closed as cured since;
* **roll rate forward** — loans delinquent when they joined that moved to a worse bucket;
* **recovery rate** — per loan, what it paid since joining, capped at what it owed then, over what
  it owed then; the arm's rate is the mean over its loans (currency-free, so books in several
  currencies compare);
* **days to cure** — mean days from joining to the cure;
* **contacts per cure** by channel, and **cost per recovered unit** — contacts times their unit cost
  (``ARREARS_CONTACT_COSTS``) over what loans of the cost currency recovered;
* **opt-out rate** and **complaint rate** — borrowers who opted out (STOP, TD, unsubscribe), or
  complained (a dispute, a spam report), after joining, over the arm's borrowers.

Rates are compared as a difference of two proportions with Newcombe's hybrid score interval
(Wilson intervals of each rate combined; sound at small counts and at 0 %), means (recovery, days
to cure) with a percentile bootstrap of the difference (2,000 resamples, seeded: the same data gives
the same interval). A difference is significant when its interval excludes zero.
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

Z95 = 1.959963984540054
BOOTSTRAP = 2000


@dataclass(frozen=True)
class LoanOutcome:
    arm: str
    joined_on: date
    currency: str
    borrower_id: str
    dpd_in: int
    stage_in: str
    overdue_in: int  # cents owed when it joined
    paid: int  # cents paid since
    cured_on: date | None
    rolled: bool

    @property
    def delinquent(self) -> bool:
        return self.dpd_in > 0

    @property
    def recovered(self) -> int:
        return min(self.paid, self.overdue_in)

    @property
    def recovery(self) -> float:
        return self.recovered / self.overdue_in if self.overdue_in > 0 else 0.0


@dataclass(frozen=True)
class Interval:
    estimate: float
    low: float
    high: float

    @property
    def significant(self) -> bool:
        return self.low > 0 or self.high < 0


def wilson(x: int, n: int) -> tuple[float, float]:
    if n == 0:
        return 0.0, 1.0
    p, z2 = x / n, Z95 * Z95
    centre = (p + z2 / (2 * n)) / (1 + z2 / n)
    half = Z95 * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / (1 + z2 / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def proportion_difference(x1: int, n1: int, x2: int, n2: int) -> Interval:
    """p2 - p1 (challenger minus champion) with Newcombe's hybrid score interval (method 10)."""
    p1, p2 = (x1 / n1 if n1 else 0.0), (x2 / n2 if n2 else 0.0)
    l1, u1 = wilson(x1, n1)
    l2, u2 = wilson(x2, n2)
    d = p2 - p1
    return Interval(d, d - math.sqrt((p2 - l2) ** 2 + (u1 - p1) ** 2), d + math.sqrt((u2 - p2) ** 2 + (p1 - l1) ** 2))


def mean_difference(a: Sequence[float], b: Sequence[float], seed: int = 7) -> Interval:
    """mean(b) - mean(a) with a percentile bootstrap interval (seeded)."""
    if not a or not b:
        return Interval(0.0, -math.inf, math.inf)
    rng = random.Random(seed)  # noqa: S311 - resampling, not security
    diffs = sorted(
        sum(rng.choices(b, k=len(b))) / len(b) - sum(rng.choices(a, k=len(a))) / len(a) for _ in range(BOOTSTRAP)
    )
    return Interval(sum(b) / len(b) - sum(a) / len(a), diffs[int(0.025 * BOOTSTRAP)], diffs[int(0.975 * BOOTSTRAP) - 1])


@dataclass
class ArmFigures:
    arm: str
    loans: int = 0
    borrowers: int = 0
    delinquent: int = 0
    cured: int = 0
    rolled: int = 0
    recovery: list[float] = field(default_factory=list)
    days_to_cure: list[float] = field(default_factory=list)
    contacts: dict[str, int] = field(default_factory=dict)
    cost: Decimal = Decimal(0)
    recovered_for_cost: Decimal = Decimal(0)
    opted_out: int = 0
    complained: int = 0

    def rate(self, what: str) -> float | None:
        num, den = {
            "cure rate": (self.cured, self.delinquent), "roll rate": (self.rolled, self.delinquent),
            "opt-out rate": (self.opted_out, self.borrowers), "complaint rate": (self.complained, self.borrowers),
        }[what]  # fmt: skip
        return num / den if den else None

    @property
    def recovery_rate(self) -> float | None:
        return sum(self.recovery) / len(self.recovery) if self.recovery else None

    @property
    def mean_days_to_cure(self) -> float | None:
        return sum(self.days_to_cure) / len(self.days_to_cure) if self.days_to_cure else None

    def contacts_per_cure(self) -> dict[str, float | None]:
        return {ch: (n / self.cured if self.cured else None) for ch, n in sorted(self.contacts.items())}

    @property
    def cost_per_recovered(self) -> Decimal | None:
        return (self.cost / self.recovered_for_cost).quantize(Decimal("0.0001")) if self.recovered_for_cost else None


@dataclass
class Comparison:
    challenger: str
    measures: dict[str, Interval]  # measure -> challenger minus champion
    higher_is_better: dict[str, bool]

    def verdict(self, champion: str) -> str:
        """``early_call vs champion: ahead on recovery by 3.1 pp (95 % CI 1.2–5.0 pp); not yet
        significant on opt-out rate``."""
        ahead, behind, unclear = [], [], []
        for name, iv in self.measures.items():
            text = f"{name} by {_fmt(name, iv.estimate)} (95 % CI {_fmt(name, iv.low)} to {_fmt(name, iv.high)})"
            if not iv.significant:
                unclear.append(name)
            elif (iv.estimate > 0) == self.higher_is_better[name]:
                ahead.append(text)
            else:
                behind.append(text)
        parts = [f"ahead on {', '.join(ahead)}"] if ahead else []
        parts += [f"behind on {', '.join(behind)}"] if behind else []
        parts += [f"not yet significant on {', '.join(unclear)}"] if unclear else []
        return f"{self.challenger} vs {champion}: " + ("; ".join(parts) or "no data yet")


def _fmt(measure: str, value: float) -> str:
    if math.isinf(value):
        return "?"
    return f"{value:+.1f} days" if measure == "days to cure" else f"{value * 100:+.1f} pp"


HIGHER_IS_BETTER = {
    "cure rate": True, "roll rate": False, "recovery rate": True, "days to cure": False, "opt-out rate": False,
    "complaint rate": False,
}  # fmt: skip


@dataclass
class ExperimentResult:
    name: str
    champion: str
    as_of: date
    arms: list[ArmFigures]
    comparisons: list[Comparison]

    @property
    def verdicts(self) -> list[str]:
        return [c.verdict(self.champion) for c in self.comparisons]


def figures(
    name: str,
    arms: Sequence[str],
    as_of: date,
    outcomes: Sequence[LoanOutcome],
    contacts: Mapping[tuple[str, str], int],
    opted_out: set[str],
    complained: set[str],
    costs: Mapping[str, Decimal],
    cost_currency: str,
) -> ExperimentResult:
    """Each arm's figures, and every other arm against the first (the champion)."""
    by_arm = {a: ArmFigures(a) for a in arms}
    borrowers: dict[str, set[str]] = {a: set() for a in arms}
    for o in outcomes:
        f = by_arm.setdefault(o.arm, ArmFigures(o.arm))
        borrowers.setdefault(o.arm, set()).add(o.borrower_id)
        f.loans += 1
        if o.overdue_in > 0:
            f.recovery.append(o.recovery)
        if o.currency == cost_currency:
            f.recovered_for_cost += Decimal(o.recovered) / 100
        if o.delinquent:
            f.delinquent += 1
            f.rolled += o.rolled
            if o.cured_on is not None:
                f.cured += 1
                f.days_to_cure.append(float((o.cured_on - o.joined_on).days))
    for (arm, channel), n in contacts.items():
        f = by_arm.setdefault(arm, ArmFigures(arm))
        f.contacts[channel] = f.contacts.get(channel, 0) + n
        f.cost += costs.get(channel, Decimal(0)) * n
    for arm, people in borrowers.items():
        by_arm[arm].borrowers = len(people)
        by_arm[arm].opted_out = len(people & opted_out)
        by_arm[arm].complained = len(people & complained)
    champion = by_arm[arms[0]]
    comparisons = [_compare(champion, by_arm[a]) for a in arms[1:]]
    return ExperimentResult(name, arms[0], as_of, [by_arm[a] for a in arms], comparisons)


def _compare(a: ArmFigures, b: ArmFigures) -> Comparison:
    measures = {
        "cure rate": proportion_difference(a.cured, a.delinquent, b.cured, b.delinquent),
        "roll rate": proportion_difference(a.rolled, a.delinquent, b.rolled, b.delinquent),
        "recovery rate": mean_difference(a.recovery, b.recovery),
        "days to cure": mean_difference(a.days_to_cure, b.days_to_cure),
        "opt-out rate": proportion_difference(a.opted_out, a.borrowers, b.opted_out, b.borrowers),
        "complaint rate": proportion_difference(a.complained, a.borrowers, b.complained, b.borrowers),
    }
    return Comparison(b.arm, measures, HIGHER_IS_BETTER)


def _pct(value: float | None) -> str:
    return "no data" if value is None else f"{value:.1%}"


def result_table(result: ExperimentResult) -> list[dict[str, str | int]]:
    """One row per arm, as the table artifact and ``arrears experiments show`` print it."""
    rows: list[dict[str, str | int]] = []
    for f in result.arms:
        days = f.mean_days_to_cure
        per_cure = ", ".join(f"{ch} {n:.1f}" for ch, n in f.contacts_per_cure().items() if n is not None)
        cost = f.cost_per_recovered
        rows.append({
            "arm": f.arm, "loans": f.loans, "delinquent at entry": f.delinquent, "cured": f.cured,
            "cure rate": _pct(f.rate("cure rate")), "roll rate": _pct(f.rate("roll rate")),
            "recovery rate": _pct(f.recovery_rate), "days to cure": "no data" if days is None else f"{days:.1f}",
            "contacts": ", ".join(f"{ch} {n}" for ch, n in sorted(f.contacts.items())) or "none",
            "contacts per cure": per_cure or "no cure",
            "cost per recovered unit": "no data" if cost is None else str(cost),
            "opt-out rate": _pct(f.rate("opt-out rate")), "complaint rate": _pct(f.rate("complaint rate")),
        })  # fmt: skip
    return rows


def result_markdown(result: ExperimentResult) -> str:
    """The experiment's section of the daily summary: the verdicts, then the arms' figures."""
    lines = [f"## Experiment {result.name}", ""]
    lines += [f"- {v}" for v in result.verdicts] + [""]
    rows = result_table(result)
    columns = ["arm", "loans", "cure rate", "roll rate", "recovery rate", "days to cure", "contacts per cure",
               "cost per recovered unit", "opt-out rate", "complaint rate"]  # fmt: skip
    lines.append("| " + " | ".join(columns) + " |")
    lines.append("|" + "---|" * len(columns))
    lines += ["| " + " | ".join(str(r[c]) for c in columns) + " |" for r in rows]
    lines += ["", "Intervals: difference of proportions (Newcombe), bootstrap of means (2,000 resamples), 95 %."]
    return "\n".join(lines) + "\n"


def arm_rates(result: ExperimentResult) -> dict[str, dict[str, float | None]]:
    """measure -> arm -> rate, for the report's chart."""
    measures = ("cure rate", "recovery rate", "roll rate", "opt-out rate")
    out: dict[str, dict[str, float | None]] = {m: {} for m in measures}
    for f in result.arms:
        out["cure rate"][f.arm] = f.rate("cure rate")
        out["recovery rate"][f.arm] = f.recovery_rate
        out["roll rate"][f.arm] = f.rate("roll rate")
        out["opt-out rate"][f.arm] = f.rate("opt-out rate")
    return out
