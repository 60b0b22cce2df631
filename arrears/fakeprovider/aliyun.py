"""The fake Alibaba Cloud SMS API (dysmsapi 2017-05-25, RPC style): ``SendSms``, ``SendBatchSms``
and ``QuerySendDetails``, each request's ACS3-HMAC-SHA256 signature checked as Alibaba checks it,
errors answered in Alibaba's shape, and delivery reports pushed to the webhook app (SmsReport).

The templates it knows are the ones the shipped policy registers (``providers.aliyun`` and the
local copies under ``templates/providers/aliyun``): it writes each message's text from the
registered template and the variables sent, as Alibaba does.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import re
from datetime import datetime
from typing import Any
from urllib.parse import parse_qsl, quote

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from arrears.fakeprovider.callbacks import Callbacks
from arrears.fakeprovider.state import FakeState, Fault, new_sid, now
from arrears.fakeprovider.transport import drop_connection
from arrears.messaging.registered import Registered, RegistrationError, load_registry
from arrears.policy import load_policy
from arrears.providers.aliyun_reports import CHINA

AUTH = re.compile(
    r"^ACS3-HMAC-SHA256 Credential=(?P<key>[^,]+),SignedHeaders=(?P<headers>[^,]+),Signature=(?P<sig>\w+)$"
)
MAINLAND = re.compile(r"^1\d{10}$")
INTERNATIONAL = re.compile(r"^[2-9]\d{7,14}$")


def _canonical(request: Request, body: bytes, signed: list[str]) -> str:
    query = sorted(parse_qsl(request.url.query, keep_blank_values=True))
    canonical_query = "&".join(f"{k}={quote(v, safe='~')}" for k, v in query)
    headers = "".join(f"{h}:{request.headers.get(h, '').strip()}\n" for h in signed)
    payload = request.headers.get("x-acs-content-sha256", "")
    return f"{request.method}\n{request.url.path or '/'}\n{canonical_query}\n{headers}\n{';'.join(signed)}\n{payload}"


def signed_by(request: Request, body: bytes, key_id: str, secret: str) -> bool:
    """Alibaba's V3 signature: HMAC-SHA256 of the hashed canonical request, over the signed headers
    (which must include the action and date), the body's hash in ``x-acs-content-sha256``."""
    m = AUTH.match(request.headers.get("authorization", ""))
    if m is None or m["key"] != key_id:
        return False
    signed = m["headers"].split(";")
    if not {"host", "x-acs-action", "x-acs-date", "x-acs-content-sha256"} <= set(signed):
        return False
    if request.headers.get("x-acs-content-sha256") != hashlib.sha256(body).hexdigest():
        return False
    digest = hashlib.sha256(_canonical(request, body, signed).encode()).hexdigest()
    expected = hmac.new(secret.encode(), f"ACS3-HMAC-SHA256\n{digest}".encode(), hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, m["sig"])


def _answer(code: str, message: str, status: int = 200, **extra: Any) -> JSONResponse:
    return JSONResponse({"Code": code, "Message": message, "RequestId": new_sid("")[:32].upper(), **extra}, status)


class FakeAliyun:
    def __init__(self, state: FakeState, callbacks: Callbacks) -> None:
        self.state = state
        self.callbacks = callbacks
        registry = load_registry(load_policy(None).providers.aliyun)
        self.templates: dict[str, Registered] = {r.code: r for r in registry.values()}
        self.signs = {r.sign_name for r in registry.values()}

    async def handle(self, request: Request) -> Response:
        body = await request.body()
        if not signed_by(request, body, self.state.aliyun_key_id, self.state.aliyun_key_secret):
            return _answer("SignatureDoesNotMatch", "Specified signature does not match our calculation.", 400)
        action = request.headers.get("x-acs-action", "")
        params = dict(parse_qsl(request.url.query, keep_blank_values=True))
        if request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
            params |= dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))  # SendBatchSms
        if action == "QuerySendDetails":
            return await self.query(params)
        if action not in ("SendSms", "SendBatchSms"):
            return _answer("InvalidAction.NotFound", f"Specified api is not found: {action}", 404)
        fault = self.state.take_fault("aliyun")
        early = await self._fault(request, fault)
        if early is not None:
            self.state.log("aliyun", action, early.status_code)
            return early
        messages = self._messages(action, params)
        if isinstance(messages, Response):
            self.state.log("aliyun", action, messages.status_code)
            return messages
        biz_id = f"{new_sid('')[:18]}^0"
        t = now()
        for m in messages:
            m |= {"biz_id": biz_id, "created": t, "out_id": params.get("OutId", "")}
        with self.state.lock:
            self.state.aliyun_sms.extend(messages)
        self.state.log("aliyun", action, 200)
        if self.state.callbacks:
            self._report(messages)
        if fault is not None and fault.kind == "lost_response":
            await asyncio.sleep(fault.delay_s)
        if fault is not None and fault.kind == "drop_after":
            return drop_connection(request)
        return _answer("OK", "OK", BizId=biz_id)

    async def _fault(self, request: Request, fault: Fault | None) -> Response | None:
        if fault is None:
            return None
        if fault.kind == "500":
            return _answer("ServiceUnavailable", "The request failed due to a temporary failure of the server.", 503)
        if fault.kind == "429":
            return _answer("Throttling.User", "Request was denied due to user flow control.", 400)
        if fault.kind == "limit":  # per-number flow control: a 200 with a refusal code
            return _answer("isv.BUSINESS_LIMIT_CONTROL", "触发天级流控Permits:10")
        if fault.kind == "drop":
            return drop_connection(request)
        if fault.kind == "slow":
            await asyncio.sleep(fault.delay_s)
        return None

    def _messages(self, action: str, p: dict[str, str]) -> list[dict[str, Any]] | Response:
        template = self.templates.get(p.get("TemplateCode", ""))
        if template is None:
            return _answer("isv.SMS_TEMPLATE_ILLEGAL", "该账号下找不到对应模板")
        try:
            if action == "SendSms":
                phones = p.get("PhoneNumbers", "").split(",")
                signs = [p.get("SignName", "")] * len(phones)
                values = [json.loads(p.get("TemplateParam") or "{}")] * len(phones)
            else:
                phones = json.loads(p.get("PhoneNumberJson", "[]"))
                signs, values = json.loads(p.get("SignNameJson", "[]")), json.loads(p.get("TemplateParamJson", "[]"))
        except ValueError:
            return _answer("isv.INVALID_JSON_PARAM", "JSON参数不合法")
        if not phones or len(phones) > 100 or not len(phones) == len(signs) == len(values):
            return _answer("isv.MOBILE_COUNT_OVER_LIMIT", "手机号码数量超过限制")
        out = []
        for phone, sign, vars_ in zip(phones, signs, values, strict=True):
            if not (MAINLAND.match(phone) or INTERNATIONAL.match(phone)) or phone in self.state.invalid_numbers:
                return _answer("isv.MOBILE_NUMBER_ILLEGAL", "非法手机号")
            if sign not in self.signs or sign != template.sign_name:
                return _answer("isv.SMS_SIGNATURE_ILLEGAL", "该账号下找不到对应签名")
            if not isinstance(vars_, dict) or not all(isinstance(v, str) for v in vars_.values()):
                return _answer("isv.INVALID_JSON_PARAM", "JSON参数不合法")
            try:
                content = f"【{sign}】" + template.fill(template.params(vars_))
            except RegistrationError:
                return _answer("isv.TEMPLATE_MISSING_PARAMETERS", "模版缺少变量")
            out.append(
                {"phone": phone, "sign": sign, "template_code": template.code, "params": vars_, "content": content}
            )
        return out

    def _report(self, messages: list[dict[str, Any]]) -> None:
        stamp = datetime.now(CHINA).strftime("%Y-%m-%d %H:%M:%S")
        reports = [
            {
                "phone_number": m["phone"], "send_time": stamp, "report_time": stamp, "success": True,
                "err_code": "DELIVERED", "err_msg": "用户接收成功", "sms_size": "1", "biz_id": m["biz_id"],
                "out_id": m["out_id"],
            }
            for m in messages
        ]  # fmt: skip
        url = f"{self.state.webhook_base}/aliyun/reports?token={quote(self.state.aliyun_report_token)}"
        self.callbacks.post(url, json.dumps(reports, ensure_ascii=False), "application/json")

    async def query(self, p: dict[str, str]) -> Response:
        fault = self.state.take_fault("aliyun-lookup")
        if fault is not None and fault.kind == "500":
            return _answer("ServiceUnavailable", "temporary failure", 503)
        phone, day = p.get("PhoneNumber", ""), p.get("SendDate", "")
        if not phone or not re.fullmatch(r"\d{8}", day):
            return _answer("isv.INVALID_PARAMETERS", "参数异常")
        with self.state.lock:
            found = [
                m for m in self.state.aliyun_sms
                if m["phone"] == phone and m["created"].astimezone(CHINA).strftime("%Y%m%d") == day
            ]  # fmt: skip
        size, page = int(p.get("PageSize", 10)), int(p.get("CurrentPage", 1))
        rows = [
            {
                "PhoneNum": m["phone"], "SendStatus": 3, "ErrCode": "DELIVERED", "TemplateCode": m["template_code"],
                "Content": m["content"], "SendDate": m["created"].astimezone(CHINA).strftime("%Y-%m-%d %H:%M:%S"),
                "ReceiveDate": m["created"].astimezone(CHINA).strftime("%Y-%m-%d %H:%M:%S"), "OutId": m["out_id"],
            }
            for m in found[(page - 1) * size : page * size]
        ]  # fmt: skip
        self.state.log("aliyun", "QuerySendDetails", 200)
        return _answer("OK", "OK", TotalCount=len(found), SmsSendDetailDTOs={"SmsSendDetailDTO": rows})


def aliyun_routes(state: FakeState, callbacks: Callbacks) -> list[Route]:
    fake = FakeAliyun(state, callbacks)
    return [Route("/", fake.handle, methods=["POST", "GET"])]
