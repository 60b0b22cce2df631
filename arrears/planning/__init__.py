"""Planning: the day's positions into actions with deterministic keys (pure)."""

from arrears.planning.keys import ActionKey, BadActionKey
from arrears.planning.plan import (
    DISPUTE_HOLD,
    PROMISE_OPEN,
    Arms,
    PlannedAction,
    PositionView,
    PromiseView,
    plan_actions,
)

__all__ = [
    "DISPUTE_HOLD", "PROMISE_OPEN", "ActionKey", "Arms", "BadActionKey", "PlannedAction", "PositionView", "PromiseView",
    "plan_actions",
]  # fmt: skip
