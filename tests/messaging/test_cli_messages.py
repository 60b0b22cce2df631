"""The reminder commands: preview, template checks, run with --now and --dry-run."""

from __future__ import annotations

from typer.testing import CliRunner

from arrears.cli import app
from arrears.privacy import mask_phone
from tests.factories import GOOD_BORROWER, GOOD_INSTALLMENTS, GOOD_LOAN, write_book

runner = CliRunner()


def _import(tmp_path) -> None:  # type: ignore[no-untyped-def]
    book = write_book(tmp_path / "book", borrowers=[GOOD_BORROWER], loans=[GOOD_LOAN], installments=GOOD_INSTALLMENTS)
    assert runner.invoke(app, ["import", str(book)]).exit_code == 0


def test_preview_prints_the_message_masked_without_sending(settings_env, tmp_path):
    _import(tmp_path)
    result = runner.invoke(app, ["preview", "--loan", "LN1", "--as-of", "2026-02-20", "--template", "m1_gentle"])
    assert result.exit_code == 0, result.output
    assert mask_phone("+8613812345678") in result.output and "13812345678" not in result.output
    assert "张*" in result.output and "张伟" not in result.output
    assert "LN1" in result.output and "已逾期15天" in result.output
    assert "segment(s), UCS-2" in result.output


def test_preview_of_an_unknown_loan_is_a_clear_error(settings_env, tmp_path):
    _import(tmp_path)
    result = runner.invoke(app, ["preview", "--loan", "NOPE", "--template", "m1_gentle", "--as-of", "2026-02-20"])
    assert result.exit_code == 2
    assert "no loan 'NOPE'" in result.output


def test_templates_check_lists_every_template_with_its_segments():
    result = runner.invoke(app, ["templates", "check"])
    assert result.exit_code == 0, result.output
    assert "m3_final_notice" in result.output and "UCS-2" in result.output


def test_run_rejects_a_clock_without_a_utc_offset(settings_env):
    result = runner.invoke(app, ["run", "--now", "2026-11-23T09:00:00"])
    assert result.exit_code == 2
    assert "UTC offset" in result.output


def test_run_dry_run_records_messages_and_calls_no_provider(prefect_harness, providers, tmp_path):
    _import(tmp_path)
    # 2026-02-21: DPD 16, the M1 reminders' weekly day
    result = runner.invoke(app, ["run", "--as-of", "2026-02-21", "--now", "2026-02-21T09:00:00+08:00", "--dry-run"])
    assert result.exit_code == 0, result.output
    output = " ".join(result.output.split())
    assert "messages: 1 SMS, 1 email, 0 sent by this run (dry run)" in output
    assert providers.state.requests == []


def test_outbox_list_masks_recipients_and_release_requeues_a_held_message(settings_env):
    from datetime import UTC, datetime

    from arrears.db import make_engine, upgrade
    from tests.factories import seed_outbox

    engine = make_engine(settings_env)
    upgrade(engine)
    key = "loan:LN1:m1_gentle_sms:sms:2026-11-23"
    seed_outbox(engine, (key, "sms", "+8613812345678", "review", None), sending_at=datetime.now(UTC))
    listed = runner.invoke(app, ["outbox", "list", "--status", "review"])
    assert listed.exit_code == 0, listed.output
    assert "+86138****5678" in listed.output and "13812345678" not in listed.output

    assert runner.invoke(app, ["outbox", "release", key]).exit_code == 0
    again = runner.invoke(app, ["outbox", "release", key])
    assert again.exit_code == 1 and "no message held for review" in again.output
    engine.dispose()
