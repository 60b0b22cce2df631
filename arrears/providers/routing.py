"""Which provider a message goes through, and whether it may.

Per channel, a default provider (``ARREARS_SMS_PROVIDER``, ``ARREARS_EMAIL_PROVIDER``) and
optional routes: for SMS by phone prefix (``{"+86": "aliyun"}``: mainland numbers through Alibaba
Cloud, the rest through Twilio), for email by the address's domain (``{".cn": "smtp"}``); the
longest matching route wins. Decided when a message is sent, from its recipient.

Data residency (``ARREARS_DATA_REGION``, e.g. ``CN``): a provider that processes personal data
outside the region is refused before anything is sent — at start-up for a configured route, and
again for each message — with a message naming the provider, its region and the setting. China's
Personal Information Protection Law (PIPL, arts. 38–39) allows a transfer abroad only after a
security assessment, certification or standard contract *and* the person's separate consent;
Arrears records no such consent, so with the region set it sends nothing abroad.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

PROVIDERS = {"sms": ("twilio", "aliyun"), "email": ("sendgrid", "smtp")}


class ResidencyRefused(RuntimeError):
    """A provider outside the data region was asked to carry personal data."""


class RoutingError(ValueError):
    """A route names a provider that does not carry that channel."""


@dataclass(frozen=True)
class Routes:
    channel: str
    default: str
    by_match: Mapping[str, str] = field(default_factory=dict)  # phone prefix or domain suffix -> provider

    def __post_init__(self) -> None:
        known = PROVIDERS[self.channel]
        for name in (self.default, *self.by_match.values()):
            if name not in known:
                raise RoutingError(f"{self.channel} provider {name!r} is not one of {', '.join(known)}")

    def provider_for(self, recipient: str) -> str:
        """The provider of the longest route matching ``recipient``, else the default."""
        target = recipient if self.channel == "sms" else recipient.rpartition("@")[2].lower()
        matches = [m for m in self.by_match if self._matches(target, m)]
        return self.by_match[max(matches, key=len)] if matches else self.default

    def _matches(self, target: str, route: str) -> bool:
        if self.channel == "sms":
            return target.startswith(route)
        route = route.lower()
        return target == route.lstrip(".") or target.endswith(route if route.startswith(".") else "." + route)

    @property
    def providers(self) -> set[str]:
        return {self.default, *self.by_match.values()}


def residency_problem(provider: str, provider_region: str, data_region: str) -> str | None:
    """Why ``provider`` may not carry personal data under ``ARREARS_DATA_REGION``, or None."""
    if not data_region or provider_region.upper() == data_region.upper():
        return None
    return (
        f"{provider} processes personal data in {provider_region or 'an unknown region'}, outside "
        f"ARREARS_DATA_REGION={data_region}: route these messages to a provider in {data_region} "
        "(ARREARS_SMS_ROUTES / ARREARS_EMAIL_ROUTES, ARREARS_SMTP_REGION), or unset ARREARS_DATA_REGION once a "
        "cross-border transfer is lawful (PIPL arts. 38-39: assessment or standard contract, and separate consent)"
    )
