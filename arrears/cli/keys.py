"""Personal data over time: the keys of the encrypted ID numbers, and retention."""

from __future__ import annotations

from typing import Annotated

import typer

from arrears.cli.common import day, out, policy, transaction, wall
from arrears.settings import get_settings
from arrears.store.borrowers import encrypted_ids, set_encrypted_id
from arrears.store.retention import apply_retention, due_for_retention
from arrears.vault import new_key, vault_from

keys_app = typer.Typer(help="Keys of the encrypted ID numbers.", no_args_is_help=True)


@keys_app.command("new")
def keys_new() -> None:
    """Print a new random key (for ARREARS_DATA_KEYS or ARREARS_LOOKUP_KEY, or a Secret block)."""
    print(new_key())


@keys_app.command("rotate")
def keys_rotate() -> None:
    """Re-encrypt every stored ID number with the first key of ARREARS_DATA_KEYS.

    Rotation: put the new key first (ARREARS_DATA_KEYS=new,old), run this, then drop the old one.
    """
    vault = vault_from(get_settings())
    with transaction() as conn:
        rows = encrypted_ids(conn)
        for r in rows:
            set_encrypted_id(conn, r.borrower_id, vault.rotate(r.id_number_enc))
    out.print(f"{len(rows)} ID numbers re-encrypted with the newest key")


def retention(
    as_of: Annotated[str | None, typer.Option("--as-of", help="Business day (default: today).")] = None,
    apply: Annotated[bool, typer.Option("--apply", help="Anonymise (default: only list who qualifies).")] = False,
) -> None:
    """Anonymise personal data of borrowers whose cases closed, and loans ended, longer ago than the
    policy's retention.days; amounts, dates and statuses stay for the reports.

    Example: arrears retention --as-of 2031-12-31 --apply
    """
    settings = get_settings()
    days = policy().retention.days
    on = day(as_of)
    with transaction() as conn:
        if apply:
            report = apply_retention(conn, on, days, settings.resolved_letters_dir, wall())
            cutoff, ids = report.cutoff, report.borrowers
        else:
            cutoff, ids = due_for_retention(conn, on, days)
    verb = "anonymised" if apply else "would be anonymised (add --apply)"
    out.print(f"{len(ids)} borrowers with cases closed before {cutoff} {verb}")
    for b in ids[:20]:
        out.print(f"  {b}")
    if len(ids) > 20:
        out.print(f"  ... and {len(ids) - 20} more")
