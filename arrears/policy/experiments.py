"""Champion/challenger experiments in the policy: several strategies tried side by side on live
accounts, each loan (or borrower) in one arm, chosen by a stable hash.

```yaml
experiments:
  - name: firm-m1                 # a slug: it seeds the hash, so a new name re-assigns everyone
    unit: loan                    # loan (borrower-level actions use the borrower's own arm) or borrower
    started_on: 2026-11-01
    ended_on: 2027-02-01          # optional; `arrears experiments stop` ends it earlier
    arms:
      - {name: champion, weight: 80}                 # the first arm: the policy's own strategy
      - name: early_call
        weight: 20
        strategy:                 # overrides (stage, risk) lists of the champion's strategy
          M1: {any: [{action: m1_call, channel: call_task, template: m1_call, start_day: 1, every_days: 5}]}
```

Only the plan differs between arms: the guard, disputes, promises and caps apply to every arm
alike, so an experiment can never make contact less lawful than the champion's strategy could.
"""

from __future__ import annotations

import hashlib
from datetime import date
from typing import Literal

from pydantic import Field, model_validator

from arrears.policy.sections import ActionSpec, RiskKey, Strict

Strategy = dict[str, dict[RiskKey, list[ActionSpec]]]


class ArmSpec(Strict):
    name: str = Field(pattern=r"^[a-z][a-z0-9_]{0,30}$")
    weight: int = Field(ge=1, le=10_000)
    strategy: Strategy | None = None  # (stage, risk) lists replacing the champion's


class ExperimentSpec(Strict):
    name: str = Field(pattern=r"^[a-z][a-z0-9_-]{0,62}$")
    unit: Literal["loan", "borrower"] = "loan"
    started_on: date
    ended_on: date | None = None
    arms: list[ArmSpec] = Field(min_length=2)

    @model_validator(mode="after")
    def _arms(self) -> ExperimentSpec:
        names = [a.name for a in self.arms]
        if len(set(names)) != len(names):
            raise ValueError("arms: names must be unique")
        if self.arms[0].strategy is not None:
            raise ValueError(f"arms[0] ({self.arms[0].name}) is the champion: it runs the policy's own strategy")
        if self.ended_on is not None and self.ended_on <= self.started_on:
            raise ValueError("ended_on: must be after started_on")
        return self

    @property
    def champion(self) -> str:
        return self.arms[0].name

    def running_on(self, day: date) -> bool:
        return self.started_on <= day and (self.ended_on is None or day < self.ended_on)

    def arm_for(self, ref: str) -> str:
        """The arm of a loan number or borrower id: a stable hash of the experiment's name and the
        unit's id, spread over the arms by weight (the same on every day, run and machine)."""
        digest = hashlib.sha256(f"{self.name}:{ref}".encode()).digest()
        point = int.from_bytes(digest[:8], "big") % sum(a.weight for a in self.arms)
        for arm in self.arms:
            if point < arm.weight:
                return arm.name
            point -= arm.weight
        raise AssertionError("weights exhausted")  # unreachable: point < total weight

    def strategy_of(self, arm: str, champion: Strategy) -> Strategy:
        """The arm's full strategy: the champion's, with the arm's (stage, risk) lists in place."""
        spec = next(a for a in self.arms if a.name == arm)
        merged = {stage: dict(by_risk) for stage, by_risk in champion.items()}
        for stage, by_risk in (spec.strategy or {}).items():
            merged.setdefault(stage, {}).update(by_risk)
        return merged


def overlapping(experiments: list[ExperimentSpec]) -> str | None:
    """The first pair of experiments whose dates overlap (one runs at a time), or None."""
    for i, a in enumerate(experiments):
        for b in experiments[i + 1 :]:
            a_end, b_end = a.ended_on or date.max, b.ended_on or date.max
            if a.started_on < b_end and b.started_on < a_end:
                return f"{a.name} and {b.name} overlap: one experiment runs at a time"
    return None
