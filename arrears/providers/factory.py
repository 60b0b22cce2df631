"""Build the providers from settings; secrets from the environment or Prefect Secret blocks."""

from __future__ import annotations

from collections.abc import Callable

from arrears.providers.outcomes import Provider
from arrears.providers.sendgrid_email import SendGridCredentials, SendGridEmail
from arrears.providers.twilio_sms import TwilioCredentials, TwilioSms
from arrears.secrets import SENDGRID_KEY_BLOCK, TWILIO_TOKEN_BLOCK, prefect_secret
from arrears.settings import Settings


class ProviderNotConfigured(RuntimeError):
    """A channel has messages to send but no credentials."""


def build_provider(channel: str, settings: Settings, secret: Callable[[str], str] = prefect_secret) -> Provider:
    if channel == "sms":
        token = settings.twilio_auth_token.get_secret_value() or secret(TWILIO_TOKEN_BLOCK)
        sender = settings.twilio_messaging_service_sid or settings.twilio_from
        if not (settings.twilio_account_sid and token and sender):
            raise ProviderNotConfigured(
                "SMS needs ARREARS_TWILIO_ACCOUNT_SID, ARREARS_TWILIO_AUTH_TOKEN (or the Prefect Secret block "
                f"{TWILIO_TOKEN_BLOCK!r}) and ARREARS_TWILIO_FROM or ARREARS_TWILIO_MESSAGING_SERVICE_SID"
            )
        creds = TwilioCredentials(
            settings.twilio_account_sid, token, settings.twilio_api_base, settings.provider_timeout_s
        )
        return TwilioSms(creds, sender, settings.webhook_base_url)
    if channel == "email":
        key = settings.sendgrid_api_key.get_secret_value() or secret(SENDGRID_KEY_BLOCK)
        if not (key and settings.sendgrid_from):
            raise ProviderNotConfigured(
                f"email needs ARREARS_SENDGRID_API_KEY (or the Prefect Secret block {SENDGRID_KEY_BLOCK!r}) "
                "and ARREARS_SENDGRID_FROM"
            )
        creds = SendGridCredentials(key, settings.sendgrid_api_host, settings.provider_timeout_s)
        return SendGridEmail(creds, settings.sendgrid_from, settings.lender_name_en)
    raise ValueError(f"no provider for channel {channel!r}")
