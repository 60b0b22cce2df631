"""Provider credentials come from settings or Prefect Secret blocks, never from files."""

from __future__ import annotations

import pytest
from pydantic import SecretStr

from arrears.providers.factory import ProviderNotConfigured, build_provider
from arrears.settings import Settings


def test_the_twilio_token_falls_back_to_the_prefect_secret_block():
    settings = Settings(twilio_account_sid="AC1", twilio_from="+15005550006")
    asked = []
    provider = build_provider("sms", settings, secret=lambda name: asked.append(name) or "from-block")
    assert asked == ["arrears-twilio-auth-token"]
    assert provider.credentials.auth_token == "from-block"  # type: ignore[attr-defined]


def test_a_token_in_the_environment_wins_over_the_block():
    settings = Settings(twilio_account_sid="AC1", twilio_from="+1", twilio_auth_token=SecretStr("env"))
    provider = build_provider("sms", settings, secret=lambda name: pytest.fail("block read"))
    assert provider.credentials.auth_token == "env"  # type: ignore[attr-defined]


def test_missing_credentials_name_what_to_set():
    with pytest.raises(ProviderNotConfigured, match="ARREARS_SENDGRID_API_KEY.*arrears-sendgrid-api-key"):
        build_provider("email", Settings(), secret=lambda name: "")


def test_secrets_do_not_show_in_the_settings_repr():
    settings = Settings(sendgrid_api_key=SecretStr("SG.secret"))
    assert "SG.secret" not in repr(settings)
