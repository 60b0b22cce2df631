"""Build the providers from settings; secrets from the environment or Prefect Secret blocks."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from arrears.messaging.registered import check_registered, load_registry
from arrears.policy import Policy, load_policy
from arrears.providers.outcomes import Provider
from arrears.providers.routing import Routes, residency_problem
from arrears.providers.sendgrid_email import SendGridCredentials, SendGridEmail
from arrears.providers.smtp_email import SmtpCredentials, SmtpEmail
from arrears.providers.twilio_sms import TwilioCredentials, TwilioSms
from arrears.secrets import (
    ALIYUN_SECRET_BLOCK,
    SENDGRID_KEY_BLOCK,
    SMTP_PASSWORD_BLOCK,
    TWILIO_TOKEN_BLOCK,
    prefect_secret,
)
from arrears.settings import Settings
from arrears.templating.lender import lender_from

if TYPE_CHECKING:
    from arrears.providers.aliyun_sms import AliyunSms

Secret = Callable[[str], str]


class ProviderNotConfigured(RuntimeError):
    """A channel has messages to send but no credentials, or a provider is misconfigured."""


def routes(channel: str, settings: Settings) -> Routes:
    if channel == "sms":
        return Routes("sms", settings.sms_provider, settings.sms_routes)
    return Routes("email", settings.email_provider, settings.email_routes)


def build_provider(
    name: str, settings: Settings, secret: Secret = prefect_secret, policy: Policy | None = None
) -> Provider:
    """The provider ``name`` (or a channel's default provider: ``sms``, ``email``)."""
    name = {"sms": settings.sms_provider, "email": settings.email_provider}.get(name, name)
    builders: dict[str, Callable[[], Provider]] = {
        "twilio": lambda: _twilio(settings, secret),
        "sendgrid": lambda: _sendgrid(settings, secret),
        "aliyun": lambda: _aliyun(settings, secret, policy or load_policy(settings.policy_path)),
        "smtp": lambda: _smtp(settings, secret),
    }
    if name not in builders:
        raise ValueError(f"no provider {name!r}")
    return builders[name]()


def region_of(name: str, settings: Settings) -> str:
    """Where a provider processes personal data (without building it)."""
    return {
        "twilio": TwilioSms.region, "sendgrid": SendGridEmail.region, "aliyun": settings.aliyun_region,
        "smtp": settings.smtp_region or settings.data_region,
    }[name]  # fmt: skip


def check_providers(settings: Settings, policy: Policy) -> list[str]:
    """What would stop a configured route from sending, before anything is sent: a provider
    outside the data region, and (Alibaba Cloud) a template whose registration disagrees with ours."""
    problems = []
    for channel in ("sms", "email"):
        for name in sorted(routes(channel, settings).providers):
            problem = residency_problem(name, region_of(name, settings), settings.data_region)
            if problem:
                problems.append(problem)
            if name == "aliyun":
                sms = {t for c, t in policy.message_templates() if c == "sms"}
                problems += check_registered(policy.providers.aliyun, sms, lender_from(settings))
    return problems


def require_providers(settings: Settings, policy: Policy, credentials: bool = False) -> None:
    """Refuse to start a run (one message, exit 2 from the CLI) when ``check_providers`` finds problems
    — and, with ``credentials``, when a routed provider has none (a run that would send)."""
    problems = check_providers(settings, policy)
    for channel in ("sms", "email") if credentials else ():
        for name in sorted(routes(channel, settings).providers):
            try:
                build_provider(name, settings, policy=policy)
            except ProviderNotConfigured as err:
                problems.append(str(err))
    if problems:
        raise ProviderNotConfigured("; ".join(dict.fromkeys(problems)))


def _twilio(settings: Settings, secret: Secret) -> TwilioSms:
    token = settings.twilio_auth_token.get_secret_value() or secret(TWILIO_TOKEN_BLOCK)
    sender = settings.twilio_messaging_service_sid or settings.twilio_from
    if not (settings.twilio_account_sid and token and sender):
        raise ProviderNotConfigured(
            "SMS needs ARREARS_TWILIO_ACCOUNT_SID, ARREARS_TWILIO_AUTH_TOKEN (or the Prefect Secret block "
            f"{TWILIO_TOKEN_BLOCK!r}) and ARREARS_TWILIO_FROM or ARREARS_TWILIO_MESSAGING_SERVICE_SID"
        )
    creds = TwilioCredentials(settings.twilio_account_sid, token, settings.twilio_api_base, settings.provider_timeout_s)
    return TwilioSms(creds, sender, settings.webhook_base_url)


def _sendgrid(settings: Settings, secret: Secret) -> SendGridEmail:
    key = settings.sendgrid_api_key.get_secret_value() or secret(SENDGRID_KEY_BLOCK)
    if not (key and settings.sendgrid_from):
        raise ProviderNotConfigured(
            f"email needs ARREARS_SENDGRID_API_KEY (or the Prefect Secret block {SENDGRID_KEY_BLOCK!r}) "
            "and ARREARS_SENDGRID_FROM"
        )
    creds = SendGridCredentials(key, settings.sendgrid_api_host, settings.provider_timeout_s)
    return SendGridEmail(creds, settings.sendgrid_from, settings.lender_name_en)


def _aliyun(settings: Settings, secret: Secret, policy: Policy) -> AliyunSms:
    key_secret = settings.aliyun_access_key_secret.get_secret_value() or secret(ALIYUN_SECRET_BLOCK)
    if not (settings.aliyun_access_key_id and key_secret):
        raise ProviderNotConfigured(
            "Alibaba Cloud SMS needs ARREARS_ALIYUN_ACCESS_KEY_ID and ARREARS_ALIYUN_ACCESS_KEY_SECRET (or the "
            f"Prefect Secret block {ALIYUN_SECRET_BLOCK!r})"
        )
    sms = {t for c, t in policy.message_templates() if c == "sms"}
    problems = check_registered(policy.providers.aliyun, sms, lender_from(settings))
    if problems:
        raise ProviderNotConfigured("Alibaba Cloud SMS templates do not match ours: " + "; ".join(problems))
    from arrears.providers.aliyun_sms import AliyunCredentials, AliyunSms  # noqa: PLC0415 - its SDK: 0.4 s

    creds = AliyunCredentials(
        settings.aliyun_access_key_id, key_secret, settings.aliyun_sms_endpoint, settings.provider_timeout_s
    )
    return AliyunSms(creds, load_registry(policy.providers.aliyun), settings.aliyun_region)


def _smtp(settings: Settings, secret: Secret) -> SmtpEmail:
    password = settings.smtp_password.get_secret_value()
    if settings.smtp_username and not password:
        password = secret(SMTP_PASSWORD_BLOCK)
    if not (settings.smtp_host and settings.smtp_from):
        raise ProviderNotConfigured("SMTP email needs ARREARS_SMTP_HOST and ARREARS_SMTP_FROM")
    if settings.smtp_username and not password:
        raise ProviderNotConfigured(
            "ARREARS_SMTP_USERNAME is set: give ARREARS_SMTP_PASSWORD (or the Prefect Secret block "
            f"{SMTP_PASSWORD_BLOCK!r})"
        )
    creds = SmtpCredentials(
        settings.smtp_host, settings.smtp_port, settings.smtp_security, settings.smtp_username, password,
        settings.smtp_ca_file, settings.provider_timeout_s,
    )  # fmt: skip
    region = settings.smtp_region or settings.data_region
    return SmtpEmail(creds, settings.smtp_from, settings.lender_name_en, region, settings.smtp_dsn)
