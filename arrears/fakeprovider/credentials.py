"""The fake providers' credentials, stable per ``ARREARS_VAR_DIR``: made at random on the first
start and kept in ``var_dir/fake-providers.json`` (owner-only, outside the repository), so a
restarted fake still matches the webhook app's and the worker's settings."""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import asdict, dataclass, field
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec


def _token() -> str:
    return secrets.token_urlsafe(24)


@dataclass(frozen=True)
class FakeCredentials:
    auth_token: str  # Twilio
    api_key: str  # SendGrid
    event_key_pem: str  # SendGrid's Event Webhook signing key (private, PEM)
    aliyun_key_id: str = field(default_factory=lambda: "LTAI" + secrets.token_hex(10))  # Alibaba Cloud AccessKey
    aliyun_key_secret: str = field(default_factory=_token)
    aliyun_report_token: str = field(default_factory=_token)  # the token of the SmsReport/SmsUp push URLs
    smtp_password: str = field(default_factory=_token)
    smtp_dsn_token: str = field(default_factory=_token)  # the token of the webhook's /smtp/dsn URL

    @classmethod
    def new(cls) -> FakeCredentials:
        key = ec.generate_private_key(ec.SECP256R1())
        pem = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ).decode()
        return cls(secrets.token_hex(16), "SG." + secrets.token_urlsafe(24), pem)

    def event_key(self) -> ec.EllipticCurvePrivateKey:
        key = serialization.load_pem_private_key(self.event_key_pem.encode(), password=None)
        assert isinstance(key, ec.EllipticCurvePrivateKey)
        return key


def stable_credentials(var_dir: Path) -> FakeCredentials:
    """This var dir's credentials, made on first use."""
    path = var_dir / "fake-providers.json"
    try:
        stored = json.loads(path.read_text())
        creds = FakeCredentials(**stored)
        if set(stored) == set(asdict(creds)):
            return creds
    except (OSError, ValueError, TypeError):
        creds = FakeCredentials.new()
    # new, or kept from an older fake that knew fewer providers (its values stay; the new ones are added)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump(asdict(creds), f)
    return creds
