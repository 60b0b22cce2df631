"""Operations: the local Prefect stack, the failure automations, the collections report."""

from __future__ import annotations

import os
import time
from typing import Annotated

import typer

from arrears.cli.common import AsOf, err, open_engine, out, parse_day, policy, wall
from arrears.ops.automations import OPS_BLOCK, apply_automations, save_webhook_block
from arrears.ops.files import serve_reports
from arrears.ops.server import start_stack
from arrears.settings import get_settings
from arrears.steps.report import write_range_report

automations_app = typer.Typer(help="Prefect automations defined in deployments/automations/.", no_args_is_help=True)


def report(
    as_of: AsOf = None,
    from_: Annotated[str | None, typer.Option("--from", help="First day (default: 30 days before --as-of).")] = None,
) -> None:
    """Write the collections report (HTML and PDF, with charts) for a range of run days and
    print the two absolute paths.

    Example: arrears report --as-of 2026-11-23 --from 2026-10-01
    """
    settings = get_settings()
    last = parse_day(as_of, settings)
    first = parse_day(from_, settings, "--from") if from_ else None
    try:
        files = write_range_report(open_engine(settings), policy(), settings, last, first, wall())
    except ValueError as e:
        err.print(f"[red]report failed:[/red] {e}")
        raise typer.Exit(2) from None
    print(files.html)
    print(files.pdf)


def server(
    port: Annotated[int, typer.Option(help="Port of the Prefect API and UI on 127.0.0.1.")] = 4200,
    database_url: Annotated[
        str | None,
        typer.Option(
            help="The Prefect server's database (default SQLite in PREFECT_HOME), e.g. "
            "postgresql+asyncpg://postgres@127.0.0.1:5432/prefect"
        ),
    ] = None,
    worker: Annotated[bool, typer.Option(help="Start a worker on the arrears-process pool.")] = True,
    deploy: Annotated[bool, typer.Option(help="Register the deployments of prefect.yaml.")] = True,
    reports_port: Annotated[
        int, typer.Option(help="Port serving the reports folder on 127.0.0.1 (default: the UI's port + 1).")
    ] = 0,
) -> None:
    """Start a local Prefect server (UI on http://127.0.0.1:PORT), the process work pool, the
    deployments (daily at 07:00 Asia/Shanghai, hourly dispatch, backfill) and a worker; Ctrl-C
    stops them. Point the CLI at it with PREFECT_API_URL=http://127.0.0.1:PORT/api.

    Example: arrears server --port 4200
    """
    settings = get_settings()
    logs = (settings.var_dir / "prefect").resolve()
    reports = serve_reports(settings.resolved_reports_dir, "127.0.0.1", reports_port or port + 1)
    reports_url = f"http://127.0.0.1:{reports.server_address[1]}"
    os.environ.setdefault("ARREARS_REPORTS_BASE_URL", reports_url)  # the worker's runs link the served report
    try:
        stack = start_stack(port, logs, database_url, worker=worker, deploy=deploy)
    except (RuntimeError, TimeoutError) as e:
        reports.shutdown()
        err.print(f"[red]server failed:[/red] {e} (logs: {logs})")
        raise typer.Exit(2) from None
    out.print(f"Prefect UI: http://127.0.0.1:{port}   API: {stack.api_url}   logs: {logs}", soft_wrap=True)
    out.print(f"reports: {reports_url}/ (the folder {settings.resolved_reports_dir})", soft_wrap=True)
    out.print("deployments: daily-collection/daily, dispatch/dispatch, backfill/backfill; Ctrl-C stops")
    out.print(
        "the worker runs flows with the environment it had when this command started (ARREARS_*, provider "
        "settings): `arrears run` passes its own ARREARS_* settings to each run it triggers (never secrets); "
        "restart `arrears server` after changing secrets",
        soft_wrap=True,
    )
    code = 0
    try:
        while all(p.poll() is None for p in stack.processes):
            time.sleep(1)
        err.print("[red]stopped: " + "; ".join(stack.exited()) + " ended by itself[/red]", soft_wrap=True)
        code = 1
    except KeyboardInterrupt:
        err.print("Ctrl-C: stopping the worker and the server ...")
    finally:
        stack.stop()
        reports.shutdown()
    if code == 0:
        out.print("stopped")
    raise typer.Exit(code)


@automations_app.command("apply")
def automations_apply(
    webhook_url: Annotated[
        str | None,
        typer.Option(envvar="ARREARS_OPS_WEBHOOK_URL", help="Create the notification block as a webhook to this URL."),
    ] = None,
) -> None:
    """Create (or replace) the automations of deployments/automations/ on the server in
    PREFECT_API_URL: ops are notified when a collection, dispatch or backfill run fails or crashes.

    Example: PREFECT_API_URL=http://127.0.0.1:4200/api arrears automations apply --webhook-url https://hooks.example/ops
    """
    if webhook_url:
        save_webhook_block(webhook_url)
        out.print(f"notification block {OPS_BLOCK!r}: webhook (URL stored in the block, not printed)")
    try:
        ids = apply_automations()
    except LookupError as e:
        err.print(f"[red]automations not applied:[/red] {e}")
        raise typer.Exit(2) from None
    out.print(f"{len(ids)} automation(s) applied: " + ", ".join(str(i) for i in ids))
