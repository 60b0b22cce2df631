"""The strategy policy (YAML, validated strictly): stages, risk, products, strategy, messages,
letters, promises, disputes, escalation, the guard and retention."""

from arrears.policy.guard import ChannelGuardSpec, GuardSpec, HolidaysSpec
from arrears.policy.model import DEFAULT_POLICY_PATH, Policy, PolicyError, load_policy, parse_policy
from arrears.policy.sections import (
    CHANNELS,
    LEGAL_STEPS,
    ActionSpec,
    EscalationRule,
    EscalationSpec,
    ProductSpec,
    ReminderSpec,
)

__all__ = [
    "CHANNELS", "DEFAULT_POLICY_PATH", "LEGAL_STEPS", "ActionSpec", "ChannelGuardSpec", "EscalationRule",
    "EscalationSpec", "GuardSpec", "HolidaysSpec", "Policy", "PolicyError", "ProductSpec", "ReminderSpec",
    "load_policy", "parse_policy",
]  # fmt: skip
