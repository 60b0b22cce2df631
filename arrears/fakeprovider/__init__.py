"""A local stand-in for Twilio and SendGrid that speaks their real HTTP APIs.

The official SDKs talk to it through configuration (``ARREARS_TWILIO_API_BASE``,
``ARREARS_SENDGRID_API_HOST``), so tests, the demo and the benchmarks exercise the real
SDK code path. It records every request, posts signed delivery callbacks and events back
to the webhook app, and injects faults on demand.
"""

from arrears.fakeprovider.server import FakeProviders

__all__ = ["FakeProviders"]
