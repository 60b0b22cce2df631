"""Secrets come from the environment (settings) or, when a setting is empty, from a Prefect
Secret block of a known name; never from a file in the repository."""

from __future__ import annotations

TWILIO_TOKEN_BLOCK = "arrears-twilio-auth-token"  # noqa: S105 - a block name, not a secret
SENDGRID_KEY_BLOCK = "arrears-sendgrid-api-key"
ALIYUN_SECRET_BLOCK = "arrears-aliyun-access-key-secret"  # noqa: S105
SMTP_PASSWORD_BLOCK = "arrears-smtp-password"  # noqa: S105
PAYMENT_KEY_BLOCK = "arrears-payment-key"  # noqa: S105
DATA_KEYS_BLOCK = "arrears-data-keys"
LOOKUP_KEY_BLOCK = "arrears-lookup-key"


def prefect_secret(block_name: str) -> str:
    """The value of a Prefect Secret block, or "" when there is none."""
    from prefect.blocks.system import Secret  # noqa: PLC0415 - Prefect only when a block is asked for

    try:
        return str(Secret.load(block_name).get())  # type: ignore[union-attr]
    except (ValueError, RuntimeError):
        return ""
