"""SMS in mainland China through Alibaba Cloud's official SDK (``alibabacloud-dysmsapi20170525``).

Alibaba sends only registered templates: a send names the signature (短信签名), the template code
(模板CODE) and the template's variables; the provider writes the text, which
``arrears.messaging.registered`` proves reads exactly as ours. One message goes out with
``SendSms`` (``OutId`` = our key, so a lost answer is found again with ``QuerySendDetails`` and a
delivery report names the message); a batch of one template with ``SendBatchSms`` (up to 100
numbers, one ``BizId``). A message's provider id is ``<BizId>/<number>``, what a delivery report
(SmsReport, HTTP push) carries. Errors: ``Throttling.*`` is the API pacing us (retried, not an
outage); ``isp.SYSTEM_ERROR`` and HTTP 5xx may have been taken (asked before retrying); a refused
connection, a bad signature or key, ``isv.OUT_OF_SERVICE`` and ``isv.AMOUNT_NOT_ENOUGH`` certainly
were not (retried, and counted by the circuit breaker); ``isv.BUSINESS_LIMIT_CONTROL`` (the per-number flow control),
``isv.BLACK_KEY_CONTROL_LIMIT`` (a blacklisted keyword), a bad number, template or signature — and
any code not known here — are permanent: the message fails with the code, never re-sent blindly.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import requests
from alibabacloud_dysmsapi20170525 import models as sms
from alibabacloud_dysmsapi20170525.client import Client
from alibabacloud_tea_openapi import models as openapi
from darabonba.runtime import RuntimeOptions
from Tea.exceptions import TeaException, UnretryableException

from arrears.messaging.registered import Registered, RegistrationError
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

ALIYUN_SMS_ENDPOINT = "dysmsapi.aliyuncs.com"
CHINA = ZoneInfo("Asia/Shanghai")  # the day QuerySendDetails files a message under
THROTTLED = ("Throttling",)  # Throttling, Throttling.User, Throttling.Api: the API's own rate limit
# Refused before taking anything, for every message alike (an account or credential problem, an
# unpaid balance): retried later, and counted by the circuit breaker, which stops the run quickly.
NOT_TAKEN = frozenset({
    "isv.OUT_OF_SERVICE", "isv.AMOUNT_NOT_ENOUGH", "isv.ACCOUNT_NOT_EXISTS", "isv.ACCOUNT_ABNORMAL",
    "isv.PRODUCT_UNSUBSCRIBE", "SignatureDoesNotMatch", "InvalidAccessKeyId.NotFound", "InvalidAccessKeyId.Inactive",
    "Forbidden.RAM", "ServiceUnavailable",
})  # fmt: skip
MAYBE_TAKEN = frozenset({"isp.SYSTEM_ERROR", "InternalError"})
MAX_BATCH = 100  # SendBatchSms: numbers per request


@dataclass(frozen=True)
class AliyunCredentials:
    access_key_id: str
    access_key_secret: str
    endpoint: str = ALIYUN_SMS_ENDPOINT  # host[:port]; http://127.0.0.1:port for the fake
    timeout_s: float = 10.0

    def client(self) -> Client:
        protocol, _, host = self.endpoint.rpartition("://")
        config = openapi.Config(
            access_key_id=self.access_key_id,
            access_key_secret=self.access_key_secret,
            endpoint=host,
            protocol=protocol or "https",
            connect_timeout=int(self.timeout_s * 1000),
            read_timeout=int(self.timeout_s * 1000),
        )
        return Client(config)


def phone_param(e164: str) -> str:
    """The number as Alibaba takes it: 11 digits for the mainland, country code and number otherwise."""
    return e164.removeprefix("+86") if e164.startswith("+86") else e164.lstrip("+")


class AliyunSms:
    name = "aliyun"
    channel = "sms"
    max_batch = MAX_BATCH
    shared_content = False

    def __init__(
        self, credentials: AliyunCredentials, registry: Mapping[str, Registered], region: str = "CN"
    ) -> None:
        """``registry``: ``template/locale`` -> its registered template (checked against ours)."""
        self.credentials = credentials
        self.registry = registry
        self.region = region  # the mainland endpoint keeps data in China
        self._clients = PerThread(credentials.client)

    def classify(self, code: str) -> ErrorKind:
        if code.startswith(THROTTLED) or code in NOT_TAKEN or code in MAYBE_TAKEN or code.startswith("5"):
            return "retryable"
        return "permanent"  # isv.BUSINESS_LIMIT_CONTROL, isv.BLACK_KEY_CONTROL_LIMIT, bad number/template/...

    def prepare(self) -> None:
        self._clients.get()

    def registered(self, env: Envelope) -> Registered:
        found = self.registry.get(f"{env.template}/{env.locale}")
        if found is None:
            raise RegistrationError(f"no registered template for sms/{env.locale}/{env.template}")
        return found

    def send(self, batch: list[Envelope], shared: object = None) -> Outcome:
        try:
            reg = self.registered(batch[0])
            params = [reg.params(env.fields) for env in batch]
        except RegistrationError as err:
            return Rejected("unregistered", str(err))
        phones = [phone_param(env.recipient) for env in batch]
        if len(batch) == 1:
            request: Any = sms.SendSmsRequest(
                phone_numbers=phones[0], sign_name=reg.sign_name, template_code=reg.code,
                template_param=json.dumps(params[0], ensure_ascii=False), out_id=batch[0].key,
            )  # fmt: skip
            call = self._clients.get().send_sms_with_options
        else:
            request = sms.SendBatchSmsRequest(
                phone_number_json=json.dumps(phones), sign_name_json=json.dumps([reg.sign_name] * len(batch)),
                template_code=reg.code, template_param_json=json.dumps(params, ensure_ascii=False),
                out_id=batch_out_id(batch),
            )  # fmt: skip
            call = self._clients.get().send_batch_sms_with_options
        try:
            body = call(request, RuntimeOptions()).body
        except TeaException as err:
            return self._failure(err)
        if body.code != "OK":
            return self._refusal(str(body.code), str(body.message or ""))
        ids = provider_ids(str(body.biz_id), phones)
        return Accepted(ids[0], ids=tuple(ids))

    def _refusal(self, code: str, message: str) -> Outcome:
        message = f"{code}: {_plain(message)}"[:300]
        if code.startswith(THROTTLED):
            return Retryable(code, message, definite=True, throttled=True)
        if code in NOT_TAKEN:
            return Retryable(code, message, definite=True)
        if code in MAYBE_TAKEN:
            return Retryable(code, message)
        return Rejected(code, message[:300])

    def _failure(self, err: TeaException) -> Outcome:
        if isinstance(err, UnretryableException):  # no HTTP answer: refused, or lost on the way back
            inner = err.inner_exception
            if isinstance(inner, requests.ConnectionError) and not isinstance(inner, requests.ReadTimeout):
                refused = "NewConnectionError" in str(inner) or isinstance(inner, requests.ConnectTimeout)
                if refused:
                    return Retryable("connection", type(inner).__name__, definite=True)
            return Unknown(type(inner).__name__ if inner else "no answer")
        code, status = str(err.code or ""), int(getattr(err, "status_code", 0) or 0)
        if status >= 500 and not code.startswith(THROTTLED):
            return Retryable(code or str(status), f"{code or status}: {_plain(str(err.message))}"[:300])
        return self._refusal(code or str(status), str(err.message))

    def lookup(self, envelope: Envelope, since_epoch_s: float) -> str | None:
        """QuerySendDetails for the number on each day since the send (China time): ours is the
        record carrying our key as OutId, or (sent in a batch) the exact text we sent."""
        phone = phone_param(envelope.recipient)
        try:
            expected = self.registered(envelope).delivered(envelope.fields)
        except RegistrationError:
            return None  # it could never have been sent
        first = datetime.fromtimestamp(since_epoch_s, UTC).astimezone(CHINA).date()
        last = datetime.now(UTC).astimezone(CHINA).date()
        day = first
        while day <= last:
            for record in self._records(phone, day.strftime("%Y%m%d")):
                if record.out_id == envelope.key or record.content == expected:
                    return f"{record.out_id or 'query'}/{phone}"
            day += timedelta(days=1)
        return None

    def _records(self, phone: str, send_date: str) -> list[Any]:
        records: list[Any] = []
        page = 1
        while True:
            request = sms.QuerySendDetailsRequest(
                phone_number=phone, send_date=send_date, page_size=50, current_page=page
            )
            try:
                body = self._clients.get().query_send_details_with_options(request, RuntimeOptions()).body
            except TeaException as err:
                raise LookupFailed(f"aliyun lookup failed: {err.code or type(err).__name__}") from None
            if body.code != "OK":
                raise LookupFailed(f"aliyun lookup failed: {body.code} {body.message}")
            found = body.sms_send_detail_dtos.sms_send_detail_dto if body.sms_send_detail_dtos else []
            records += found or []
            if not found or len(records) >= int(body.total_count or 0):
                return records
            page += 1


def _plain(message: str) -> str:
    """The SDK's exception text without its wrapping: ``code: 400, <text> request id: ...`` -> ``<text>``."""
    text = re.sub(r"^code: \d+, ", "", message)
    return re.sub(r"\s*request id: \S*$", "", text).strip()


def batch_out_id(batch: list[Envelope]) -> str:
    """A batch's OutId: deterministic over its keys."""
    return "batch-" + hashlib.sha256("\n".join(e.key for e in batch).encode()).hexdigest()[:32]


def provider_ids(biz_id: str, phones: list[str]) -> list[str]:
    """Each message's provider id: the request's BizId and its number, as delivery reports name it."""
    return [f"{biz_id}/{p}" for p in phones]
