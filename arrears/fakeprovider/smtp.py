"""A fake mail server for tests and the demo: real SMTP on 127.0.0.1 (``aiosmtpd``) with STARTTLS
(a self-signed certificate made at start, whose file the client is told to trust), AUTH
(PLAIN/LOGIN, required, over TLS only) and the DSN extension (RFC 3461). It keeps every message
it takes and, where a message asked for one, posts a delivery status notification (RFC 3464) to
the webhook app's ``/smtp/dsn`` — what a lender's mail server would put in a DSN mailbox.
Faults (``provider: smtp``): ``4xx`` refuses at RCPT with 451, ``drop`` closes the connection
at MAIL, ``lost_response`` takes the message and answers after the client's timeout,
``drop_after`` takes it and closes without an answer."""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import ipaddress
import logging
import ssl
from email import message_from_bytes
from email.policy import default
from pathlib import Path
from typing import Any
from urllib.parse import quote

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from arrears.fakeprovider.callbacks import Callbacks
from arrears.fakeprovider.state import EMAIL, FakeState, now
from arrears.providers.smtp_email import KEY_HEADER

DSN_PARAMS = ("RET", "ENVID", "NOTIFY", "ORCPT")
# aiosmtpd logs a warning about its own deprecated attribute whenever a client authenticates
logging.getLogger("mail.log").setLevel(logging.ERROR)
SMTP_USER = "arrears"


def self_signed(folder: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1/localhost that is its own CA (the client trusts the file)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "arrears fake mail server")])
    start = dt.datetime.now(dt.UTC) - dt.timedelta(days=1)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(start)
        .not_valid_after(start + dt.timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.SubjectAlternativeName([x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )  # fmt: skip
    folder.mkdir(parents=True, exist_ok=True)
    cert_path, key_path = folder / "fake-smtp.crt", folder / "fake-smtp.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    key_path.chmod(0o600)
    return cert_path, key_path


class DsnSMTP(SMTP):
    """aiosmtpd's SMTP session, taking the DSN parameters of MAIL and RCPT (kept in the envelope's
    options) instead of refusing them."""

    def _getparams(self, params: Any) -> dict[str, Any] | None:
        parsed = super()._getparams(params)
        return None if parsed is None else {k: v for k, v in parsed.items() if k not in DSN_PARAMS}


class Handler:
    def __init__(self, state: FakeState, callbacks: Callbacks, timeout_s: float = 15.0) -> None:
        self.state = state
        self.callbacks = callbacks
        self.timeout_s = timeout_s

    async def handle_EHLO(self, server: SMTP, session: Session, envelope: Envelope, hostname: str, responses: list[str]) -> list[str]:  # noqa: N802, E501
        session.host_name = hostname
        return [*responses[:-1], "250-DSN", responses[-1]]

    async def handle_MAIL(self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]) -> str:  # noqa: N802, E501
        fault = self.state.take_fault("smtp")
        if fault is not None and fault.kind == "drop":
            self.state.log("smtp", "MAIL", 0)
            server.transport.close()  # type: ignore[union-attr]
            return "421 4.3.2 closing"
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        envelope.fault = fault  # type: ignore[attr-defined]
        return "250 OK"

    async def handle_RCPT(self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]) -> str:  # noqa: N802, E501
        fault = getattr(envelope, "fault", None)
        if fault is not None and fault.kind == "4xx":
            self.state.log("smtp", "RCPT", 451)
            return "451 4.3.0 Mail server temporarily rejected message"
        if not EMAIL.match(address) or address in self.state.invalid_numbers:
            self.state.log("smtp", "RCPT", 550)
            return "550 5.1.1 User unknown"
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(options)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:  # noqa: N802
        raw = envelope.original_content or envelope.content or b""
        raw = raw if isinstance(raw, bytes) else raw.encode()
        msg = message_from_bytes(raw, policy=default)
        body = msg.get_body(("plain",))
        html = msg.get_body(("html",))
        record = {
            "to": envelope.rcpt_tos[0], "from": envelope.mail_from, "subject": str(msg.get("Subject", "")),
            "message_id": str(msg.get("Message-ID", "")).strip("<>"), "key": str(msg.get(KEY_HEADER, "")),
            "text": body.get_content() if body else "", "html": html.get_content() if html else "",
            "attachments": [
                {"filename": a.get_filename(), "sha256": hashlib.sha256(a.get_payload(decode=True) or b"").hexdigest()}
                for a in msg.iter_attachments()
            ],
            "mail_options": list(envelope.mail_options), "rcpt_options": list(envelope.rcpt_options),
            "created": now(),
        }  # fmt: skip
        with self.state.lock:
            self.state.smtp_emails.append(record)
        self.state.log("smtp", "DATA", 250)
        if self.state.callbacks and any("NOTIFY=" in o and "SUCCESS" in o for o in envelope.rcpt_options):
            self._dsn(record, raw)
        fault = getattr(envelope, "fault", None)
        if fault is not None and fault.kind == "lost_response":
            await asyncio.sleep(fault.delay_s or self.timeout_s)
        if fault is not None and fault.kind == "drop_after":
            server.transport.close()  # type: ignore[union-attr]
        return "250 2.0.0 OK: queued"

    def _dsn(self, record: dict[str, Any], raw: bytes) -> None:
        headers = raw.split(b"\r\n\r\n", 1)[0].decode("utf-8", "replace")
        envid = next((o.split("=", 1)[1] for o in record["mail_options"] if o.startswith("ENVID=")), "")
        stamp = now().strftime("%a, %d %b %Y %H:%M:%S +0000")
        dsn = (
            "From: Mail Delivery System <MAILER-DAEMON@mail.anxin.example>\r\n"
            f"To: {record['from']}\r\nSubject: Successful Mail Delivery Report\r\nDate: {stamp}\r\n"
            "MIME-Version: 1.0\r\n"
            'Content-Type: multipart/report; report-type=delivery-status; boundary="dsn-boundary"\r\n\r\n'
            "--dsn-boundary\r\nContent-Type: text/plain\r\n\r\nYour message was delivered.\r\n"
            "--dsn-boundary\r\nContent-Type: message/delivery-status\r\n\r\n"
            f"Reporting-MTA: dns; mail.anxin.example\r\nOriginal-Envelope-Id: {envid}\r\nArrival-Date: {stamp}\r\n\r\n"
            f"Final-Recipient: rfc822; {record['to']}\r\nAction: delivered\r\nStatus: 2.0.0\r\n"
            f"Diagnostic-Code: smtp; 250 2.0.0 OK\r\nLast-Attempt-Date: {stamp}\r\n\r\n"
            f"--dsn-boundary\r\nContent-Type: text/rfc822-headers\r\n\r\n{headers}\r\n--dsn-boundary--\r\n"
        )
        url = f"{self.state.webhook_base}/smtp/dsn?token={quote(self.state.smtp_dsn_token)}"
        self.callbacks.post(url, dsn, "message/rfc822")


class _Controller(Controller):
    def factory(self) -> SMTP:
        return DsnSMTP(self.handler, **self.SMTP_kwargs)


class FakeMailServer:
    """The fake SMTP server on 127.0.0.1:``port``; ``ca_file`` is what the client must trust."""

    def __init__(self, state: FakeState, callbacks: Callbacks, folder: Path, port: int) -> None:
        self.state = state
        self.port = port
        self.ca_file, key_file = self_signed(folder)
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self.ca_file, key_file)
        self.controller = _Controller(
            Handler(state, callbacks), hostname="127.0.0.1", port=port, tls_context=context,
            require_starttls=True, authenticator=self._authenticate, auth_require_tls=True,
            server_hostname="localhost",
        )  # fmt: skip

    def _authenticate(self, server: SMTP, session: Session, envelope: Envelope, mech: str, data: Any) -> AuthResult:
        login = (SMTP_USER.encode(), self.state.smtp_password.encode())
        ok = isinstance(data, LoginPassword) and (data.login, data.password) == login
        return AuthResult(success=ok, handled=False)

    def start(self) -> FakeMailServer:
        self.controller.start()
        return self

    def stop(self) -> None:
        self.controller.stop(no_assert=True)
