"""A letters folder that fills up: a clear error naming the folder, no letter recorded as rendered
without its file, the rest of the day still runs (reminders go out), the run ends Failed, and a
re-run once there is room completes the letters. The folder is a small tmpfs (root mounts it);
without root it is a read-only folder."""

from __future__ import annotations

import os
import subprocess
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import text

from arrears.db import make_engine
from arrears.demo.synthetic import generate_book
from arrears.fakeprovider.audit import exactly_once
from arrears.settings import get_settings
from arrears.steps.importing import import_book
from arrears.steps.verify import verify_day
from flows.daily import daily_collection
from tests.factories import day

AS_OF = day("2026-11-23")
NOW = datetime(2026, 11, 23, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai"))


def _mount(folder: Path, size: str) -> bool:
    """A tmpfs of ``size`` at ``folder`` (remounted bigger keeps its files); False without the right."""
    folder.mkdir(parents=True, exist_ok=True)
    if os.geteuid() != 0:
        return False
    args = ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder)]
    if os.path.ismount(folder):
        args = ["mount", "-o", f"remount,size={size}", str(folder)]
    return subprocess.run(args, capture_output=True, check=False).returncode == 0  # noqa: S603


@pytest.fixture
def small_letters_dir(tmp_path, monkeypatch):  # type: ignore[no-untyped-def]
    folder = tmp_path / "letters"
    mounted = _mount(folder, "48k")  # room for about one letter
    if not mounted:
        folder.chmod(0o555)
    monkeypatch.setenv("ARREARS_LETTERS_DIR", str(folder))
    get_settings.cache_clear()
    yield folder, mounted
    if mounted:
        subprocess.run(["umount", str(folder)], check=False)  # noqa: S603, S607
    else:
        folder.chmod(0o755)


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)  # the archive, not the SQL
def test_a_full_letters_folder_fails_the_letters_not_the_day_and_a_rerun_completes_them(
    prefect_harness, providers, small_letters_dir, tmp_path
):
    folder, mounted = small_letters_dir
    engine = make_engine(get_settings().resolved_database_url)
    generate_book(tmp_path / "book", loans=300, as_of=AS_OF, seed=11, bad_rows=False)
    import_book(engine=engine, directory=tmp_path / "book")

    state = daily_collection(as_of=AS_OF, now=NOW, return_state=True)
    assert state.is_failed()
    assert f"cannot write to {folder}" in state.message and "Re-trigger the run" in state.message
    with engine.connect() as conn:
        letters = dict(conn.execute(text("SELECT status, COUNT(*) FROM letter GROUP BY status")).all())
        summary = conn.execute(text("SELECT status, summary FROM collection_run")).one()
    assert letters.get("failed", 0) >= 1 and summary.status == "failed"
    sent = len(providers.sms) + len(providers.emails)
    assert sent > 0  # the rest of the day went on: reminders went out (emails carrying a letter wait)
    problems = verify_day(engine, get_settings(), AS_OF)
    assert not [p for p in problems if "without its file" in p or "does not match" in p]

    if mounted:
        assert _mount(folder, "20m")
    else:
        folder.chmod(0o755)
    again = daily_collection(as_of=AS_OF, now=NOW, return_state=True)
    assert again.is_completed(), again.message
    assert verify_day(engine, get_settings(), AS_OF) == []
    assert exactly_once(providers, engine) == []
    with engine.connect() as conn:
        assert conn.execute(text("SELECT COUNT(*) FROM letter WHERE status = 'failed'")).scalar_one() == 0
    engine.dispose()
