"""Import the loan book: validate the CSV files (bad rows quarantined with file, line and reason),
upsert the good ones, record the run — one transaction (``arrears import``, the demo)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine

from arrears.book.reader import Problem, validate_book
from arrears.book.records import Limits
from arrears.settings import Settings, get_settings
from arrears.store import imports as store
from arrears.vault import IdVault, vault_from


@dataclass(frozen=True)
class ImportResult:
    import_run_id: int
    rows_read: dict[str, int]
    rows_imported: dict[str, int]
    problems: list[Problem]

    @property
    def exit_code(self) -> int:
        return 3 if self.problems else 0


def import_book(
    *, engine: Engine, directory: Path, vault: IdVault | None = None, settings: Settings | None = None
) -> ImportResult:
    """Validate the CSV files in ``directory`` and upsert the good rows in one transaction.

    ID numbers are stored encrypted with a look-up hash and a masked copy (``vault``: from the
    settings or Prefect Secret blocks when not given); the clear value is never written. Amounts
    over ``settings.max_amount`` are refused.
    """
    settings = settings or get_settings()
    vault = vault or vault_from(settings)
    with engine.begin() as conn:
        book = validate_book(
            directory,
            known_borrowers=lambda ids: store.known_borrowers(conn, ids),
            known_loans=lambda nos: store.known_loans(conn, nos),
            limits=Limits(max_amount=settings.max_amount),
        )
        imported = store.write_book(conn, book, vault.protect)
        run_id = store.record_import_run(conn, directory, book, imported)
    return ImportResult(run_id, book.rows_read, imported, book.problems)
