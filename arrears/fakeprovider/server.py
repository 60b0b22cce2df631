"""Run the fake providers on 127.0.0.1 in a background thread (tests, demo, bench) or in
the foreground (``arrears fake-providers``)."""

from __future__ import annotations

import socket
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import uvicorn

from arrears.fakeprovider.app import build_app
from arrears.fakeprovider.callbacks import Callbacks
from arrears.fakeprovider.credentials import FakeCredentials
from arrears.fakeprovider.smtp import SMTP_USER, FakeMailServer
from arrears.fakeprovider.state import FakeState, Fault
from arrears.webhooks import create_app


class BackgroundServer:
    """An ASGI app served by uvicorn in a daemon thread; ``port=0`` picks a free port."""

    def __init__(self, app: Any, host: str = "127.0.0.1", port: int = 0) -> None:
        self.app = app
        self.host = host
        self.port = port
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> BackgroundServer:
        config = uvicorn.Config(
            self.app,
            host=self.host,
            port=self.port,
            log_level="warning",
            access_log=False,
            timeout_graceful_shutdown=1,  # a request the fake holds on purpose is cancelled, not awaited
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, name="uvicorn", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError(f"server on {self.host}:{self.port} did not start")
            time.sleep(0.01)
        self.port = self._server.servers[0].sockets[0].getsockname()[1]
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True  # graceful: the app's lifespan ends cleanly
        if self._thread is not None:
            self._thread.join(timeout=10)


class FakeProviders:
    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        webhook_base: str = "",
        credentials: FakeCredentials | None = None,
        smtp_port: int = 0,
        folder: Path | None = None,
    ) -> None:
        """``credentials``: the ones to answer to (``stable_credentials(var_dir)`` for a fake that
        restarts); default fresh random ones (tests). ``folder``: where the mail server's
        certificate goes (default a temporary folder); ``smtp_port`` 0 picks a free one."""
        creds = credentials or FakeCredentials.new()
        self.state = FakeState(
            auth_token=creds.auth_token, api_key=creds.api_key, webhook_base=webhook_base.rstrip("/"),
            aliyun_key_id=creds.aliyun_key_id, aliyun_key_secret=creds.aliyun_key_secret,
            aliyun_report_token=creds.aliyun_report_token, smtp_password=creds.smtp_password,
            smtp_dsn_token=creds.smtp_dsn_token,
        )  # fmt: skip
        self.callbacks = Callbacks(self.state, creds.event_key())
        self.server = BackgroundServer(build_app(self.state, self.callbacks), host, port)
        folder = folder or Path(tempfile.mkdtemp(prefix="arrears-fake-smtp-"))
        self.mail = FakeMailServer(self.state, self.callbacks, folder, smtp_port or free_port())

    @property
    def url(self) -> str:
        return self.server.url

    def env(self) -> dict[str, str]:
        """The ARREARS_* settings that point the SDKs (and the webhook app) at this fake."""
        return {
            "ARREARS_TWILIO_API_BASE": self.url,
            "ARREARS_TWILIO_ACCOUNT_SID": self.state.account_sid,
            "ARREARS_TWILIO_AUTH_TOKEN": self.state.auth_token,
            "ARREARS_TWILIO_FROM": "+15005550006",
            "ARREARS_SENDGRID_API_HOST": self.url,
            "ARREARS_SENDGRID_API_KEY": self.state.api_key,
            "ARREARS_SENDGRID_FROM": "collections@anxin.example",
            "ARREARS_SENDGRID_WEBHOOK_PUBLIC_KEY": self.callbacks.public_key,
            "ARREARS_ALIYUN_SMS_ENDPOINT": self.url,
            "ARREARS_ALIYUN_ACCESS_KEY_ID": self.state.aliyun_key_id,
            "ARREARS_ALIYUN_ACCESS_KEY_SECRET": self.state.aliyun_key_secret,
            "ARREARS_ALIYUN_REPORT_TOKEN": self.state.aliyun_report_token,
            "ARREARS_SMTP_HOST": "127.0.0.1",
            "ARREARS_SMTP_PORT": str(self.mail.port),
            "ARREARS_SMTP_USERNAME": SMTP_USER,
            "ARREARS_SMTP_PASSWORD": self.state.smtp_password,
            "ARREARS_SMTP_FROM": "collections@anxin.example",
            "ARREARS_SMTP_CA_FILE": str(self.mail.ca_file),
            "ARREARS_SMTP_DSN_TOKEN": self.state.smtp_dsn_token,
        }

    def start(self) -> FakeProviders:
        self.server.start()
        self.mail.start()
        return self

    def stop(self) -> None:
        self.mail.stop()
        self.server.stop()
        self.callbacks.close()

    def __enter__(self) -> FakeProviders:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- conveniences for tests and the demo -----------------------------------------
    def inject(self, provider: str, kind: str, count: int = 1, **kw: Any) -> None:
        with self.state.lock:
            self.state.faults.append(Fault(provider, kind, count, **kw))

    @property
    def sms(self) -> list[dict[str, Any]]:
        with self.state.lock:
            return list(self.state.sms)

    @property
    def emails(self) -> list[dict[str, Any]]:
        with self.state.lock:
            return list(self.state.emails)

    @property
    def aliyun_sms(self) -> list[dict[str, Any]]:
        with self.state.lock:
            return list(self.state.aliyun_sms)

    @property
    def smtp_emails(self) -> list[dict[str, Any]]:
        with self.state.lock:
            return list(self.state.smtp_emails)

    def reply(self, sender: str, body: str, to: str = "+15005550006") -> int:
        """A borrower texts back (e.g. STOP): the fake posts it, signed, to the webhook app."""
        response = httpx.post(f"{self.url}/_fake/inbound", json={"from": sender, "to": to, "body": body}, timeout=10)
        return int(response.json()["webhook_status"])


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class LocalProviders:
    """The fake providers plus our webhook app on 127.0.0.1, wired to each other: the fake
    posts signed callbacks to the app, the app verifies them with the fake's keys and
    writes to ``engine``. ``env()`` is what points Arrears at both (demo and tests)."""

    def __init__(self, engine: Any) -> None:
        self.engine = engine
        self.fake = FakeProviders()
        self.webhooks: BackgroundServer | None = None

    def _webhook_server(self, port: int) -> BackgroundServer:
        return BackgroundServer(
            create_app(
                self.engine,
                twilio_auth_token=self.fake.state.auth_token,
                sendgrid_public_key=self.fake.callbacks.public_key,
                public_base_url=f"http://127.0.0.1:{port}",  # Twilio signs the URL it calls
                aliyun_report_token=self.fake.state.aliyun_report_token,
                smtp_dsn_token=self.fake.state.smtp_dsn_token,
            ),
            port=port,
        )

    def env(self) -> dict[str, str]:
        assert self.webhooks is not None, "start() first"
        return {**self.fake.env(), "ARREARS_WEBHOOK_BASE_URL": self.webhooks.url}

    def start(self) -> LocalProviders:
        """Start the fake, then the webhook app on a port known before it starts (its public
        URL is part of Twilio's signatures). A port picked free can be taken by someone else
        before uvicorn binds it (the fake's own port 0 included): then another one is picked."""
        self.fake.start()
        for attempt in range(5):
            try:
                self.webhooks = self._webhook_server(free_port()).start()
                break
            except RuntimeError:
                if attempt == 4:
                    raise
        assert self.webhooks is not None
        self.fake.state.webhook_base = self.webhooks.url
        return self

    def stop(self) -> None:
        self.fake.callbacks.drain()
        if self.webhooks is not None:
            self.webhooks.stop()
        self.fake.stop()
