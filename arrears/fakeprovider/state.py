"""What the fake provider remembers and the faults it has been told to inject."""

from __future__ import annotations

import re
import secrets
import threading
import uuid
from collections import deque
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

E164 = re.compile(r"^\+[1-9]\d{6,14}$")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


@dataclass
class Fault:
    """``kind``: 429 (with Retry-After), 500, slow (answer after ``delay_s``), lost_response
    (accept the message, then stall past the client's timeout so the answer is lost),
    drop (abort the connection before taking the message), drop_after (take it, then abort)."""

    provider: str  # twilio | sendgrid | aliyun | smtp (and twilio-lookup, sendgrid-lookup, aliyun-lookup)
    kind: str
    count: int = 1
    retry_after_s: float = 1.0
    delay_s: float = 0.0


@dataclass
class FakeState:
    account_sid: str = "AC" + "0" * 32
    # fresh credentials per fake: nothing secret-looking lives in the repo
    auth_token: str = field(default_factory=lambda: secrets.token_hex(16))
    api_key: str = field(default_factory=lambda: "SG." + secrets.token_urlsafe(24))
    aliyun_key_id: str = field(default_factory=lambda: "LTAI" + secrets.token_hex(10))
    aliyun_key_secret: str = field(default_factory=lambda: secrets.token_urlsafe(24))
    aliyun_report_token: str = field(default_factory=lambda: secrets.token_urlsafe(24))
    smtp_password: str = field(default_factory=lambda: secrets.token_urlsafe(24))
    smtp_dsn_token: str = field(default_factory=lambda: secrets.token_urlsafe(24))
    webhook_base: str = ""  # where to post Twilio inbound messages and SendGrid events
    callbacks: bool = True
    invalid_numbers: set[str] = field(default_factory=set)
    stopped_numbers: set[str] = field(default_factory=set)
    sms: list[dict[str, Any]] = field(default_factory=list)
    emails: list[dict[str, Any]] = field(default_factory=list)
    aliyun_sms: list[dict[str, Any]] = field(default_factory=list)  # what Alibaba Cloud SMS took
    smtp_emails: list[dict[str, Any]] = field(default_factory=list)  # what the SMTP server took
    requests: list[tuple[str, str, int]] = field(default_factory=list)  # provider, method path, status
    faults: deque[Fault] = field(default_factory=deque)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def take_fault(self, provider: str) -> Fault | None:
        with self.lock:
            for f in self.faults:
                if f.provider == provider and f.count > 0:
                    f.count -= 1
                    if f.count == 0:
                        self.faults.remove(f)
                    return f
        return None

    def log(self, provider: str, what: str, status: int) -> None:
        with self.lock:
            self.requests.append((provider, what, status))

    def reset(self) -> None:
        with self.lock:
            self.sms.clear()
            self.emails.clear()
            self.aliyun_sms.clear()
            self.smtp_emails.clear()
            self.requests.clear()
            self.faults.clear()
            self.invalid_numbers.clear()
            self.stopped_numbers.clear()

    def snapshot(self) -> dict[str, Any]:
        with self.lock:
            return {
                "sms": list(self.sms),
                "emails": list(self.emails),
                "aliyun_sms": list(self.aliyun_sms),
                "smtp_emails": list(self.smtp_emails),
                "requests": list(self.requests),
                "faults": [asdict(f) for f in self.faults],
            }


def now() -> datetime:
    return datetime.now(UTC)


def rfc2822(t: datetime) -> str:
    return t.strftime("%a, %d %b %Y %H:%M:%S +0000")


def new_sid(prefix: str) -> str:
    return prefix + uuid.uuid4().hex
