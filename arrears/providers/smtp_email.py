"""Email through the lender's own mail server (SMTP, the standard library's ``smtplib``): STARTTLS
or implicit TLS, AUTH, one message per transaction.

Each message carries its key twice: a deterministic ``Message-ID`` (``<sha256(key)[:32].arrears@
domain>``, also the provider id we record) and an ``X-Arrears-Key`` header, so a bounce or a
delivery status notification (DSN, RFC 3464) names the message it is about. When the server
offers DSN, a message asks for one on success and failure (``NOTIFY=SUCCESS,FAILURE,DELAY``,
``RET=HDRS``, ``ENVID`` = that digest); DSNs reach Arrears through a mailbox (``arrears bounces
read``) or the webhook app (``/smtp/dsn``), parsed by ``arrears.providers.dsn``.

Exactly once: the transaction goes MAIL, RCPT, DATA, and the phase a failure happens in says
what it means. A refused connection or a 4xx before the end of DATA: the server did not take the
message (retried). A 5xx: permanent. A timeout or a dropped connection after the data was sent:
the server may have taken it, and an SMTP server cannot be asked afterwards (``lookup`` raises),
so the message is held for a person to check rather than sent twice.
"""

from __future__ import annotations

import hashlib
import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import formataddr
from pathlib import Path
from typing import Any

from arrears.providers.outcomes import (
    Accepted,
    Envelope,
    ErrorKind,
    LookupFailed,
    Outcome,
    PerThread,
    Rejected,
    Retryable,
    Unknown,
)

KEY_HEADER = "X-Arrears-Key"


def key_digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()[:32]


def message_id(key: str, sender: str) -> str:
    """The message's Message-ID, the same on every attempt (receivers may drop a repeat)."""
    return f"<{key_digest(key)}.arrears@{sender.rpartition('@')[2] or 'localhost'}>"


@dataclass(frozen=True)
class SmtpCredentials:
    host: str
    port: int = 587
    security: str = "starttls"  # starttls | tls (implicit, port 465) | none (a trusted local relay)
    username: str = ""
    password: str = ""
    ca_file: Path | None = None  # trust this CA besides the system's (a private mail server)
    timeout_s: float = 10.0

    def context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=str(self.ca_file) if self.ca_file else None)

    def connect(self) -> smtplib.SMTP:
        if self.security == "tls":
            conn: smtplib.SMTP = smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout_s, context=self.context())
        else:
            conn = smtplib.SMTP(self.host, self.port, timeout=self.timeout_s)
            conn.ehlo()
            if self.security == "starttls":
                conn.starttls(context=self.context())
                conn.ehlo()
        if self.username:
            conn.login(self.username, self.password)
        return conn


class _Connection:
    """One sender thread's SMTP session, opened on first use and again after it broke."""

    def __init__(self, credentials: SmtpCredentials) -> None:
        self.credentials = credentials
        self.smtp: smtplib.SMTP | None = None

    def open(self) -> smtplib.SMTP:
        if self.smtp is None:
            self.smtp = self.credentials.connect()
        return self.smtp

    def close(self) -> None:
        if self.smtp is not None:
            try:
                self.smtp.close()
            finally:
                self.smtp = None


class SmtpEmail:
    name = "smtp"
    channel = "email"
    max_batch = 1
    shared_content = False

    def __init__(
        self, credentials: SmtpCredentials, sender: str, sender_name: str = "", region: str = "", dsn: bool = True
    ) -> None:
        self.credentials = credentials
        self.sender = sender
        self.sender_name = sender_name
        self.region = region  # where the lender's mail server is (ARREARS_SMTP_REGION)
        self.dsn = dsn
        self._sessions = PerThread(lambda: _Connection(credentials))

    def classify(self, code: str) -> ErrorKind:
        """4xx (and no connection) are temporary; 5xx permanent (550 no such user, 552, 554...)."""
        return "permanent" if code.startswith("5") else "retryable"

    def prepare(self) -> None:
        self._sessions.get()

    def message(self, env: Envelope) -> EmailMessage:
        msg = EmailMessage(policy=SMTP)
        msg["From"] = formataddr((self.sender_name, self.sender)) if self.sender_name else self.sender
        msg["To"] = env.recipient
        msg["Subject"] = env.subject or ""
        msg["Message-ID"] = message_id(env.key, self.sender)
        msg[KEY_HEADER] = env.key
        msg.set_content(env.text)
        if env.html:
            msg.add_alternative(env.html, subtype="html")
        for a in env.attachments:
            maintype, _, subtype = a.mime_type.partition("/")
            msg.add_attachment(a.content, maintype=maintype, subtype=subtype, filename=a.filename)
        return msg

    def send(self, batch: list[Envelope], shared: object = None) -> Outcome:
        (env,) = batch
        msg = self.message(env)
        session = self._sessions.get()
        try:
            smtp = session.open()
        except smtplib.SMTPAuthenticationError as err:
            session.close()
            return Retryable(str(err.smtp_code), f"SMTP login refused: {_text(err.smtp_error)}", definite=True)
        except (OSError, smtplib.SMTPException) as err:  # no session: nothing was sent
            session.close()
            return Retryable("connect", f"{type(err).__name__}: {err}"[:300], definite=True)
        return self._transaction(session, smtp, env, msg)

    def _transaction(self, session: _Connection, smtp: smtplib.SMTP, env: Envelope, msg: EmailMessage) -> Outcome:
        dsn = self.dsn and smtp.has_extn("dsn")
        mail_options = ["RET=HDRS", f"ENVID={key_digest(env.key)}"] if dsn else []
        rcpt_options = ["NOTIFY=SUCCESS,FAILURE,DELAY"] if dsn else []
        try:
            code, reply = smtp.mail(self.sender, mail_options)
            if code != 250:
                return self._refused(smtp, code, reply)
            code, reply = smtp.rcpt(env.recipient, rcpt_options)
            if code not in (250, 251):
                return self._refused(smtp, code, reply)
        except (OSError, smtplib.SMTPException) as err:  # before DATA: the server holds nothing
            session.close()
            return Retryable("connection", f"{type(err).__name__} before DATA", definite=True)
        try:
            code, reply = smtp.data(msg.as_bytes())
        except smtplib.SMTPDataError as err:  # the server answered: it did not take the message
            return self._refused(smtp, err.smtp_code, err.smtp_error)
        except (OSError, smtplib.SMTPException) as err:  # the data may have been taken: nobody can tell
            session.close()
            return Unknown(f"{type(err).__name__} during DATA")
        return Accepted(str(msg["Message-ID"]).strip("<>"))

    def _refused(self, smtp: smtplib.SMTP, code: int, reply: Any) -> Outcome:
        try:
            smtp.rset()
        except (OSError, smtplib.SMTPException):
            pass
        if self.classify(str(code)) == "permanent":
            return Rejected(str(code), _text(reply))
        return Retryable(str(code), _text(reply), definite=True)

    def lookup(self, envelope: Envelope, since_epoch_s: float) -> str | None:
        raise LookupFailed("an SMTP server cannot be asked whether it took a message: check its log")


def _text(reply: Any) -> str:
    return (reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply))[:300]

