"""Reminders: preview, template checks, the outbox, the webhook app and the fake providers."""

from __future__ import annotations

import shlex
import signal
import threading
from typing import Annotated

import typer
import uvicorn
from rich.table import Table

from arrears.cli.common import AsOf, err, open_engine, out, parse_day, policy, wall
from arrears.fakeprovider import FakeProviders
from arrears.fakeprovider.credentials import stable_credentials
from arrears.messaging.checks import check_policy_templates, check_templates
from arrears.messaging.render import TemplateMissing
from arrears.policy import PolicyError
from arrears.privacy import mask_recipient
from arrears.secrets import PAYMENT_KEY_BLOCK, TWILIO_TOKEN_BLOCK, prefect_secret
from arrears.settings import get_settings
from arrears.steps.messages import preview_message
from arrears.steps.payments import payment_recorder
from arrears.store.loans import UnknownLoan
from arrears.store.outbox import list_messages, requeue_review
from arrears.templating.lender import lender_from
from arrears.webhooks import create_app

templates_app = typer.Typer(help="Reminder templates.", no_args_is_help=True)
outbox_app = typer.Typer(help="The outbox of SMS and email.", no_args_is_help=True)


def preview(
    loan: Annotated[str, typer.Option("--loan", help="Loan number.")],
    template: Annotated[str, typer.Option("--template", help="Template name, e.g. m1_gentle.")],
    as_of: AsOf = None,
    channel: Annotated[str, typer.Option(help="sms or email.")] = "sms",
    unmasked: Annotated[bool, typer.Option(help="Show name and recipient in clear (policy permitting).")] = False,
) -> None:
    """Print a loan's reminder as it would be sent that day, without sending it.

    Example: arrears preview --loan LN00000042 --as-of 2026-11-23 --template m1_gentle
    """
    settings = get_settings()
    rules = policy()
    try:
        p = preview_message(
            engine=open_engine(settings), policy=rules, lender=lender_from(settings), loan_no=loan,
            as_of=parse_day(as_of, settings), template=template, channel=channel,
            mask=rules.messages.preview_mask or not unmasked,
        )  # fmt: skip
    except (UnknownLoan, TemplateMissing, ValueError) as e:
        err.print(f"[red]{e}[/red]")
        raise typer.Exit(2) from None
    out.print(f"to: {p.recipient}   ({channel}, {p.stage}, DPD {p.dpd})", markup=False)
    if not p.policy_sends:
        err.print(f"note: the policy does not send {channel} {template!r} to a {p.stage} loan of this risk")
    if p.rendered.subject:
        out.print(f"subject: {p.rendered.subject}", markup=False)
    if p.rendered.size:
        s = p.rendered.size
        limit = rules.messages.sms_max_segments
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
    rules = policy()
    table = Table(title=f"templates (SMS limit: {rules.messages.sms_max_segments} segments)")
    for col in ("channel", "locale", "template", "segments", "encoding", "check"):
        table.add_column(col)
    results = check_templates(rules)
    for r in results:
        seg = "" if r.segments is None else str(r.segments)
        table.add_row(r.channel, r.locale, r.template, seg, r.encoding or "", r.warning or "ok")
    out.print(table)
    for r in results:
        if r.warning:
            err.print(f"warning: {r.channel}/{r.locale}/{r.template}: {r.warning}", markup=False)
    try:
        check_policy_templates(rules)
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
    with open_engine().connect() as conn:
        rows = list_messages(conn, status, limit)
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
    with open_engine().begin() as conn:
        done = requeue_review(conn, key, wall())
    if not done:
        err.print(f"no message held for review with key {key!r}")
        raise typer.Exit(1)
    out.print(f"{key}: queued; the next run sends it")


def webhooks(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port.")] = 8765,
) -> None:
    """Serve the webhook app: Twilio status callbacks and inbound STOP replies, SendGrid events,
    Alibaba Cloud SMS reports and replies, SMTP delivery status notifications.

    Providers must reach it at ARREARS_WEBHOOK_BASE_URL (signatures cover that URL).

    Example: arrears webhooks --port 8765
    """
    s = get_settings()
    engine = open_engine(s)
    app = create_app(
        engine,
        twilio_auth_token=s.twilio_auth_token.get_secret_value() or prefect_secret(TWILIO_TOKEN_BLOCK),
        sendgrid_public_key=s.sendgrid_webhook_public_key,
        public_base_url=s.webhook_base_url,
        replay_window_s=s.webhook_replay_window_s,
        aliyun_report_token=s.aliyun_report_token.get_secret_value(),
        smtp_dsn_token=s.smtp_dsn_token.get_secret_value(),
        payment_key=s.payment_webhook_key.get_secret_value() or prefect_secret(PAYMENT_KEY_BLOCK),
        record_payment=payment_recorder(engine, policy(), s),
    )
    out.print(f"webhooks on http://{host}:{port} (public URL {s.webhook_base_url})")
    uvicorn.run(app, host=host, port=port, log_level="warning")


def fake_providers(
    port: Annotated[int, typer.Option(help="Port on 127.0.0.1.")] = 8766,
    webhook_base: Annotated[str, typer.Option(help="Where to post callbacks (the webhook app).")] = "",
    callbacks: Annotated[bool, typer.Option(help="Post delivery callbacks and events.")] = True,
    smtp_port: Annotated[int, typer.Option(help="The fake mail server's port (0: any free one).")] = 8767,
) -> None:
    """Serve the fake Twilio, SendGrid, Alibaba Cloud SMS and mail server on 127.0.0.1 and print the
    settings that point Arrears at them.

    Example: arrears fake-providers --port 8766 --webhook-base http://127.0.0.1:8765
    """
    settings = get_settings()
    creds = stable_credentials(settings.var_dir)  # the same on every start: a restart breaks no one's settings
    fake = FakeProviders(
        port=port, webhook_base=webhook_base or settings.webhook_base_url, credentials=creds, smtp_port=smtp_port,
        folder=settings.var_dir.resolve() / "fake-smtp",
    )  # fmt: skip
    fake.state.callbacks = callbacks
    fake.start()
    # plain lines, never wrapped (they are pasted into shells): not the console's rich printing
    print(f"# fake Twilio, SendGrid, Alibaba Cloud SMS on {fake.url}; control API at {fake.url}/_fake/", flush=True)
    print(f"# fake mail server (SMTP, STARTTLS, AUTH, DSN) on 127.0.0.1:{fake.mail.port}", flush=True)
    print(f"# credentials kept in {settings.var_dir.resolve() / 'fake-providers.json'} (stable across restarts)")
    for k, v in fake.env().items():
        print(f"export {k}={shlex.quote(v)}", flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        stop.wait()
    except KeyboardInterrupt:
        pass
    fake.stop()
