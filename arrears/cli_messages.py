"""CLI commands for reminders: preview, template checks, the outbox, the webhook app and
the fake providers. Registered on the main app in ``arrears.cli``."""

from __future__ import annotations

import json
import signal
import threading
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from arrears.settings import get_settings

out = Console()
err = Console(stderr=True)
templates_app = typer.Typer(help="Reminder templates.", no_args_is_help=True)
outbox_app = typer.Typer(help="The outbox of SMS and email.", no_args_is_help=True)


def preview(
    loan: Annotated[str, typer.Option("--loan", help="Loan number.")],
    template: Annotated[str, typer.Option("--template", help="Template name, e.g. m1_gentle.")],
    as_of: Annotated[str | None, typer.Option("--as-of", help="Business day, YYYY-MM-DD.")] = None,
    channel: Annotated[str, typer.Option(help="sms or email.")] = "sms",
    unmasked: Annotated[bool, typer.Option(help="Show name and recipient in clear (policy permitting).")] = False,
) -> None:
    """Print a loan's reminder as it would be sent that day, without sending it.

    Example: arrears preview --loan LN00000042 --as-of 2026-11-23 --template m1_gentle
    """
    from arrears.cli import _as_of, _engine
    from arrears.messaging.render import TemplateMissing
    from arrears.policy import load_policy
    from arrears.preview import LoanNotFound, preview_message
    from arrears.providers.factory import lender_from

    settings = get_settings()
    policy = load_policy(settings.policy_path)
    day = _as_of(as_of, settings)
    try:
        p = preview_message(
            engine=_engine(settings),
            policy=policy,
            lender=lender_from(settings),
            loan_no=loan,
            as_of=day,
            template=template,
            channel=channel,
            mask=policy.messages.preview_mask or not unmasked,
        )
    except (LoanNotFound, TemplateMissing, ValueError) as e:
        err.print(f"[red]{e}[/red]")
        raise typer.Exit(2) from None
    out.print(f"to: {p.recipient}   ({channel}, {p.stage}, DPD {p.dpd})", markup=False)
    if not p.policy_sends:
        err.print(f"note: the policy does not send {channel} {template!r} to a {p.stage} loan of this risk")
    if p.rendered.subject:
        out.print(f"subject: {p.rendered.subject}", markup=False)
    if p.rendered.size:
        s = p.rendered.size
        limit = policy.messages.sms_max_segments
        flag = f"  [yellow]over the limit of {limit}[/yellow]" if s.segments > limit else ""
        out.print(f"{s.segments} segment(s), {s.encoding}, {s.units} units{flag}")
    out.print("")
    out.print(p.rendered.text, markup=False, highlight=False)


@templates_app.command("check")
def templates_check() -> None:
    """Render every SMS and email template with long sample values; warn on SMS over the segment limit.

    Exit status 1 if the policy names a template that is missing.

    Example: arrears templates check
    """
    from arrears.messaging.checks import check_policy_templates, check_templates
    from arrears.policy import PolicyError, load_policy

    policy = load_policy(get_settings().policy_path)
    table = Table(title=f"templates (SMS limit: {policy.messages.sms_max_segments} segments)")
    for col in ("channel", "locale", "template", "segments", "encoding", "check"):
        table.add_column(col)
    results = check_templates(policy)
    for r in results:
        seg = "" if r.segments is None else str(r.segments)
        table.add_row(r.channel, r.locale, r.template, seg, r.encoding or "", r.warning or "ok")
    out.print(table)
    warnings = [r for r in results if r.warning]
    for r in warnings:
        err.print(f"warning: {r.channel}/{r.locale}/{r.template}: {r.warning}", markup=False)
    try:
        check_policy_templates(policy)
    except PolicyError as e:
        err.print(f"[red]{e}[/red]")
        raise typer.Exit(1) from None


@outbox_app.command("list")
def outbox_list(
    status: Annotated[str | None, typer.Option(help="Only this status (queued, sent, review, ...).")] = None,
    limit: Annotated[int, typer.Option(help="At most this many.")] = 50,
) -> None:
    """List outbox messages (recipients masked).

    Example: arrears outbox list --status review
    """
    from sqlalchemy import select

    from arrears.cli import _engine
    from arrears.privacy import mask_recipient
    from arrears.store.outbox import T

    q = select(T.c.key, T.c.channel, T.c.recipient, T.c.status, T.c.reason, T.c.provider_id).order_by(T.c.id.desc())
    if status:
        q = q.where(T.c.status == status)
    with _engine(get_settings()).connect() as conn:
        rows = conn.execute(q.limit(limit)).all()
    table = Table(title="outbox")
    for col in ("key", "to", "status", "reason", "provider id"):
        table.add_column(col)
    for r in rows:
        table.add_row(r.key, mask_recipient(r.channel, r.recipient), r.status, r.reason or "", r.provider_id or "")
    out.print(table)


@outbox_app.command("release")
def outbox_release(key: Annotated[str, typer.Argument(help="Key of a message held for review.")]) -> None:
    """Queue a message held for review again, after checking with the provider that it did not go out.

    Example: arrears outbox release loan:LN00000042:m1_gentle_sms:sms:2026-11-23
    """
    from datetime import UTC, datetime

    from arrears.cli import _engine
    from arrears.store.outbox import requeue_review

    with _engine(get_settings()).begin() as conn:
        done = requeue_review(conn, key, datetime.now(UTC))
    if not done:
        err.print(f"no message held for review with key {key!r}")
        raise typer.Exit(1)
    out.print(f"{key}: queued; the next run sends it")


def webhooks(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port.")] = 8765,
) -> None:
    """Serve the webhook app: Twilio status callbacks and inbound STOP replies, SendGrid events.

    Providers must reach it at ARREARS_WEBHOOK_BASE_URL (signatures cover that URL).

    Example: arrears webhooks --port 8765
    """
    import uvicorn

    from arrears.cli import _engine
    from arrears.providers.factory import TWILIO_TOKEN_BLOCK, prefect_secret
    from arrears.webhooks import create_app

    s = get_settings()
    app = create_app(
        _engine(s),
        twilio_auth_token=s.twilio_auth_token.get_secret_value() or prefect_secret(TWILIO_TOKEN_BLOCK),
        sendgrid_public_key=s.sendgrid_webhook_public_key,
        public_base_url=s.webhook_base_url,
    )
    out.print(f"webhooks on http://{host}:{port} (public URL {s.webhook_base_url})")
    uvicorn.run(app, host=host, port=port, log_level="warning")


def fake_providers(
    port: Annotated[int, typer.Option(help="Port on 127.0.0.1.")] = 8766,
    webhook_base: Annotated[str, typer.Option(help="Where to post callbacks (the webhook app).")] = "",
    callbacks: Annotated[bool, typer.Option(help="Post delivery callbacks and events.")] = True,
) -> None:
    """Serve the fake Twilio + SendGrid on 127.0.0.1 and print the settings that point Arrears at it.

    Example: arrears fake-providers --port 8766 --webhook-base http://127.0.0.1:8765
    """
    from arrears.fakeprovider import FakeProviders

    fake = FakeProviders(port=port, webhook_base=webhook_base or get_settings().webhook_base_url)
    fake.state.callbacks = callbacks
    fake.start()
    out.print(f"# fake Twilio + SendGrid on {fake.url}; control API under {fake.url}/_fake/")
    for k, v in fake.env().items():
        print(f"export {k}={json.dumps(v)}")
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        stop.wait()
    except KeyboardInterrupt:
        pass
    fake.stop()
