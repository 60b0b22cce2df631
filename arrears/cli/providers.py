"""Providers: which one carries each message and whether it may (``providers check``), the texts to
register with Alibaba Cloud (``providers draft``), and DSNs from a mailbox (``bounces read``)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from arrears.cli.common import fail, open_engine, out, policy, wall
from arrears.messaging.content import LOCALES
from arrears.messaging.registered import draft, registered_path
from arrears.providers.factory import check_providers, region_of, routes
from arrears.providers.routing import residency_problem
from arrears.settings import get_settings
from arrears.steps.receipts import read_maildir
from arrears.templating import TEMPLATES
from arrears.templating.lender import lender_from

providers_app = typer.Typer(
    help="Message providers: routes, data residency, registered templates.", no_args_is_help=True
)
bounces_app = typer.Typer(help="Delivery status notifications (DSNs) of mail sent over SMTP.", no_args_is_help=True)


@providers_app.command("check")
def providers_check() -> None:
    """Each channel's providers and routes, where each processes personal data, and anything that
    would stop a run (a provider outside ARREARS_DATA_REGION, a registered template unlike ours).
    Exit 0 when a run may start, 2 otherwise.

    Example: ARREARS_SMS_ROUTES='{"+86": "aliyun"}' ARREARS_DATA_REGION=CN arrears providers check
    """
    settings = get_settings()
    table = Table("channel", "route", "provider", "region", "data residency")
    for channel in ("sms", "email"):
        route = routes(channel, settings)
        for match, name in [("(default)", route.default), *sorted(route.by_match.items())]:
            region = region_of(name, settings) or "?"
            verdict = "refused" if residency_problem(name, region, settings.data_region) else "ok"
            table.add_row(channel, match, name, region, verdict if settings.data_region else "not restricted")
    out.print(table)
    problems = check_providers(settings, policy())
    for problem in problems:
        out.print(f"[red]✗[/red] {problem}")
    if problems:
        raise typer.Exit(2)
    out.print("providers ready")


@providers_app.command("draft")
def providers_draft(
    provider: Annotated[str, typer.Argument(help="aliyun")] = "aliyun",
    write: Annotated[bool, typer.Option(help="Write them as the local copies under templates/providers/.")] = False,
) -> None:
    """The texts to register for each SMS template the policy sends (our template with ${variables}
    in place of the values, the signature left to the provider), per locale.

    Example: arrears providers draft aliyun --write
    """
    if provider != "aliyun":
        fail(f"only Alibaba Cloud (aliyun) sends registered templates, not {provider!r}")
    rules, lender = policy(), lender_from(get_settings())
    spec = rules.providers.aliyun
    for template in sorted(t for c, t in rules.message_templates() if c == "sms"):
        entry = spec.templates.get(template)
        sign = (entry.sign_name if entry else None) or spec.sign_name
        for locale in LOCALES:
            text = draft(template, locale, sign, lender)
            out.print(f"[bold]{template}[/bold] {locale} (signature {sign}):\n{text}\n")
            if write:
                path = registered_path(TEMPLATES, provider, locale, template)
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(text + "\n", encoding="utf-8")


@bounces_app.command("read")
def bounces_read(folder: Annotated[Path, typer.Argument(help="A Maildir the mail server delivers DSNs to.")]) -> None:
    """Record the delivery status notifications waiting in a Maildir: delivered, delayed, bounced
    (a hard bounce suppresses the address). Each is filed as seen; running it again changes nothing.

    Example: arrears bounces read /var/mail/arrears-dsn
    """
    if not (folder / "new").is_dir():
        fail(f"{folder} is not a Maildir (no new/ folder)")
    engine = open_engine()
    try:
        done = read_maildir(engine, folder, wall())
    finally:
        engine.dispose()
    out.print(
        f"{done.messages} messages read: {done.receipts} delivery reports recorded, {done.not_dsn} not DSNs (left)"
    )
