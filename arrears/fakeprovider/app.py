"""The fake's HTTP API: Twilio Messages (create, list), SendGrid v3 mail send and
Email Activity, Alibaba Cloud SMS (``arrears.fakeprovider.aliyun``), plus ``/_fake`` control endpoints."""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import re
from datetime import UTC, datetime
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from arrears.fakeprovider.aliyun import aliyun_routes
from arrears.fakeprovider.callbacks import Callbacks
from arrears.fakeprovider.state import E164, EMAIL, FakeState, Fault, new_sid, now, rfc2822
from arrears.fakeprovider.transport import drop_connection
from arrears.providers.twilio_sms import TWILIO_STOP_KEYWORDS

TWILIO_MESSAGES = "/2010-04-01/Accounts/{sid}/Messages.json"
KEY_QUERY = re.compile(r"""unique_args\['(?P<arg>[^']+)'\]\s*=\s*"(?P<value>[^"]*)\"""")


def build_app(state: FakeState, callbacks: Callbacks) -> Starlette:
    def twilio_error(status: int, code: int, message: str, headers: dict[str, str] | None = None) -> Response:
        body = {
            "code": code,
            "message": message,
            "more_info": f"https://www.twilio.com/docs/errors/{code}",
            "status": status,
        }
        return JSONResponse(body, status_code=status, headers=headers)

    def twilio_authorized(request: Request) -> bool:
        expected = base64.b64encode(f"{state.account_sid}:{state.auth_token}".encode()).decode()
        return (
            request.headers.get("authorization") == f"Basic {expected}"
            and request.path_params["sid"] == state.account_sid
        )

    async def fault_response(provider: str) -> tuple[Response | None, Fault | None]:
        fault = state.take_fault(provider)
        if fault is None:
            return None, None
        if fault.kind == "429":
            headers = {"Retry-After": f"{fault.retry_after_s:g}"}
            if provider == "twilio":
                return twilio_error(429, 20429, "Too Many Requests", headers), fault
            return JSONResponse({"errors": [{"message": "too many requests"}]}, 429, headers), fault
        if fault.kind == "500":
            if provider == "twilio":
                return twilio_error(500, 20500, "Internal Server Error"), fault
            return JSONResponse({"errors": [{"message": "internal error"}]}, 500), fault
        if fault.kind == "slow":
            await asyncio.sleep(fault.delay_s)
        return None, fault

    async def before_taking(request: Request, provider: str, what: str) -> tuple[Response | None, Fault | None]:
        """A fault that strikes before the message is taken: an error answer, or a dropped connection."""
        early, fault = await fault_response(provider)
        if early is not None:
            state.log(provider, what, early.status_code)
            return early, fault
        if fault is not None and fault.kind == "drop":
            state.log(provider, what, 0)
            return drop_connection(request), fault
        return None, fault

    async def answer(request: Request, fault: Fault | None, response: Response) -> Response:
        """The answer to a message taken, unless a fault loses it (a stall past the client's
        timeout) or drops the connection before it."""
        if fault is not None and fault.kind == "lost_response":
            await asyncio.sleep(fault.delay_s)  # the client gives up: the answer is lost
        if fault is not None and fault.kind == "drop_after":
            return drop_connection(request)  # taken, then the connection dies before the answer
        return response

    async def twilio_create(request: Request) -> Response:
        if not twilio_authorized(request):
            return twilio_error(401, 20003, "Authenticate")
        early, fault = await before_taking(request, "twilio", "POST Messages")
        if early is not None:
            return early
        form = await request.form()
        to, body = str(form.get("To", "")), str(form.get("Body", ""))
        sender = str(form.get("From") or form.get("MessagingServiceSid") or "")
        if not E164.match(to) or to in state.invalid_numbers:
            state.log("twilio", "POST Messages", 400)
            return twilio_error(400, 21211, f"The 'To' number {to} is not a valid phone number.")
        if to in state.stopped_numbers:
            state.log("twilio", "POST Messages", 400)
            return twilio_error(400, 21610, "Attempt to send to unsubscribed recipient")
        t = now()
        msg = {
            "sid": new_sid("SM"),
            "account_sid": state.account_sid,
            "to": to,
            "from": sender,
            "body": body,
            "status": "queued",
            "num_segments": "1",
            "date_created": rfc2822(t),
            "date_updated": rfc2822(t),
            "date_sent": rfc2822(t),
            "created": t,
            "status_callback": str(form.get("StatusCallback") or ""),
            "direction": "outbound-api",
            "error_code": None,
            "uri": f"/2010-04-01/Accounts/{state.account_sid}/Messages/x.json",
        }
        with state.lock:
            state.sms.append(msg)
        state.log("twilio", "POST Messages", 201)
        if msg["status_callback"] and state.callbacks:
            callbacks.twilio_status(msg, ["sent", "delivered"])
        return await answer(request, fault, JSONResponse(_public(msg), status_code=201))

    async def twilio_list(request: Request) -> Response:
        if not twilio_authorized(request):
            return twilio_error(401, 20003, "Authenticate")
        early, _ = await fault_response("twilio-lookup")
        if early is not None:
            return early
        q = request.query_params
        after = _parse_time(q.get("DateSent>"))
        with state.lock:
            found = [
                m
                for m in state.sms
                if (not q.get("To") or m["to"] == q["To"]) and (after is None or m["created"] >= after)
            ]
        state.log("twilio", "GET Messages", 200)
        page = [_public(m) for m in reversed(found)][: int(q.get("PageSize", 50))]
        return JSONResponse({"messages": page, "next_page_uri": None, "page": 0, "page_size": len(page), "uri": ""})

    async def sendgrid_send(request: Request) -> Response:
        if request.headers.get("authorization") != f"Bearer {state.api_key}":
            return JSONResponse({"errors": [{"message": "unauthorized"}]}, 401)
        early, fault = await before_taking(request, "sendgrid", "POST mail/send")
        if early is not None:
            return early
        data = await request.json()
        personalizations = data.get("personalizations") or []
        if not 1 <= len(personalizations) <= 1000:
            state.log("sendgrid", "POST mail/send", 400)
            return JSONResponse(
                {"errors": [{"message": "personalizations: 1 to 1000", "field": "personalizations"}]}, 400
            )
        for p in personalizations:
            for to in p.get("to", []):
                if not EMAIL.match(to.get("email", "")):
                    state.log("sendgrid", "POST mail/send", 400)
                    return JSONResponse({"errors": [{"message": "Invalid email address", "field": "to"}]}, 400)
        attachments = []
        for a in data.get("attachments") or []:  # as SendGrid checks them: base64 content and a file name
            try:
                raw = base64.b64decode(a.get("content", ""), validate=True)
            except (binascii.Error, ValueError):
                raw = b""
            if not raw or not a.get("filename"):
                state.log("sendgrid", "POST mail/send", 400)
                return JSONResponse({"errors": [{"message": "invalid attachment", "field": "attachments"}]}, 400)
            attachments.append(
                {
                    "filename": a["filename"],
                    "type": a.get("type", ""),
                    "disposition": a.get("disposition", "attachment"),
                    "size": len(raw),
                    "sha256": hashlib.sha256(raw).hexdigest(),
                }
            )
        batch_id = new_sid("")[:22]
        content = {c["type"]: c["value"] for c in data.get("content", [])}
        sent = []
        for i, p in enumerate(personalizations):
            subs = p.get("substitutions", {})
            sent.append(
                {
                    "msg_id": f"{batch_id}.{i}",
                    "x_message_id": batch_id,
                    "to": p["to"][0]["email"],
                    "subject": _fill(p.get("subject") or data.get("subject", ""), subs),
                    "text": _fill(content.get("text/plain", ""), subs),
                    "html": _fill(content.get("text/html", ""), subs),
                    "custom_args": {**data.get("custom_args", {}), **p.get("custom_args", {})},
                    "categories": data.get("categories", []),
                    "attachments": attachments,
                    "created": now(),
                }
            )
        with state.lock:
            state.emails.extend(sent)
        state.log("sendgrid", "POST mail/send", 202)
        if state.callbacks:
            callbacks.sendgrid_events(sent, ["processed", "delivered"])
        return await answer(request, fault, Response(status_code=202, headers={"X-Message-Id": batch_id}))

    async def sendgrid_activity(request: Request) -> Response:
        if request.headers.get("authorization") != f"Bearer {state.api_key}":
            return JSONResponse({"errors": [{"message": "unauthorized"}]}, 401)
        early, _ = await fault_response("sendgrid-lookup")
        if early is not None:
            return early
        match = KEY_QUERY.search(request.query_params.get("query", ""))
        if not match:
            return JSONResponse({"errors": [{"message": "invalid query"}]}, 400)
        with state.lock:
            found = [e for e in state.emails if e["custom_args"].get(match["arg"]) == match["value"]]
        limit = int(request.query_params.get("limit", 10))
        messages = [
            {"msg_id": e["msg_id"], "to_email": e["to"], "subject": e["subject"], "status": "delivered"}
            for e in found[:limit]
        ]
        return JSONResponse({"messages": messages})

    # -- control ------------------------------------------------------------------
    async def control_state(_request: Request) -> Response:
        snap = state.snapshot()
        for kind in ("sms", "emails", "aliyun_sms", "smtp_emails"):  # copies: what it received stays as it was
            snap[kind] = [{**m, "received_at": m["created"].timestamp()} for m in snap[kind]]
            for m in snap[kind]:
                del m["created"]
        return JSONResponse(snap)

    async def control_faults(request: Request) -> Response:
        data = await request.json()
        with state.lock:
            for f in data if isinstance(data, list) else [data]:
                state.faults.append(Fault(**f))
        return JSONResponse({"faults": len(state.faults)})

    async def control_reset(_request: Request) -> Response:
        state.reset()
        return JSONResponse({"ok": True})

    async def control_inbound(request: Request) -> Response:
        data = await request.json()
        if data.get("body", "").strip().upper() in TWILIO_STOP_KEYWORDS:  # Twilio blocks the sender after these
            with state.lock:
                state.stopped_numbers.add(data["from"])
        status = callbacks.twilio_inbound(data["from"], data.get("to", ""), data.get("body", ""))
        return JSONResponse({"webhook_status": status})

    return Starlette(
        routes=[
            Route(TWILIO_MESSAGES, twilio_create, methods=["POST"]),
            Route(TWILIO_MESSAGES, twilio_list, methods=["GET"]),
            Route("/v3/mail/send", sendgrid_send, methods=["POST"]),
            Route("/v3/messages", sendgrid_activity, methods=["GET"]),
            *aliyun_routes(state, callbacks),
            Route("/_fake/state", control_state, methods=["GET"]),
            Route("/_fake/faults", control_faults, methods=["POST"]),
            Route("/_fake/reset", control_reset, methods=["POST"]),
            Route("/_fake/inbound", control_inbound, methods=["POST"]),
        ]
    )


def _public(msg: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in msg.items() if k not in ("created", "status_callback")}


def _fill(text: str, subs: dict[str, str]) -> str:
    for tag, value in subs.items():
        text = text.replace(tag, value)
    return text


def _parse_time(value: str | None) -> datetime | None:
    if not value:
        return None
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
