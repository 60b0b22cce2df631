"""Personal data: ID numbers encrypted with a keyed hash for look-ups, key rotation, retention."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import text
from typer.testing import CliRunner

from arrears.cli import app
from arrears.settings import get_settings
from arrears.steps.importing import import_book
from arrears.store.retention import ANONYMISED, apply_retention, due_for_retention
from arrears.vault import IdVault, VaultUnavailable, vault_from
from tests.factories import GOOD_BORROWER, GOOD_INSTALLMENTS, GOOD_LOAN, write_book

ID = "110101199003071234"


def _book(tmp_path):  # type: ignore[no-untyped-def]
    return write_book(tmp_path / "book", borrowers=[GOOD_BORROWER], loans=[GOOD_LOAN], installments=GOOD_INSTALLMENTS)


def _borrower(engine):  # type: ignore[no-untyped-def]
    with engine.connect() as conn:
        return conn.execute(text("SELECT * FROM borrower WHERE borrower_id = 'B1'")).one()


def test_the_id_number_is_never_stored_in_clear(fresh_db, tmp_path):
    import_book(engine=fresh_db, directory=_book(tmp_path))
    b = _borrower(fresh_db)
    assert b.id_number == "1101**********1234"
    assert ID not in b.id_number_enc and vault_from(get_settings()).decrypt(b.id_number_enc) == ID
    with fresh_db.connect() as conn:  # nowhere in the row
        assert ID not in " ".join(str(v) for v in conn.execute(text("SELECT * FROM borrower")).one())


def test_a_borrower_is_found_by_id_number_through_the_keyed_hash_and_shown_masked(settings_env, fresh_db, tmp_path):
    import_book(engine=fresh_db, directory=_book(tmp_path))
    result = CliRunner().invoke(app, ["borrower", "find", "--id-number", ID.lower()[:-1] + "4"])
    assert result.exit_code == 0, result.output
    assert "B1" in result.output and "1101**********1234" in result.output and ID not in result.output
    assert CliRunner().invoke(app, ["borrower", "find", "--id-number", "110101199003079999"]).exit_code == 1


def test_the_lookup_hash_depends_on_the_key_so_a_leaked_table_cannot_be_brute_forced_without_it():
    a = IdVault([Fernet.generate_key().decode()], "key-a")
    b = IdVault([Fernet.generate_key().decode()], "key-b")
    assert a.lookup_hash(ID) != b.lookup_hash(ID) and a.lookup_hash(ID) == a.lookup_hash(f" {ID.lower()} ")


def test_keys_rotate_re_encrypts_with_the_new_key_and_the_old_key_can_then_go(
    settings_env, fresh_db, tmp_path, monkeypatch
):
    import_book(engine=fresh_db, directory=_book(tmp_path))
    old = get_settings().data_keys.get_secret_value()
    new = Fernet.generate_key().decode()
    monkeypatch.setenv("ARREARS_DATA_KEYS", f"{new},{old}")
    get_settings.cache_clear()
    result = CliRunner().invoke(app, ["keys", "rotate"])
    assert result.exit_code == 0 and "1 ID numbers re-encrypted" in result.output
    token = _borrower(fresh_db).id_number_enc
    assert IdVault([new], "x").decrypt(token) == ID
    with pytest.raises(VaultUnavailable):
        IdVault([old], "x").decrypt(token)


def test_without_keys_the_import_says_exactly_what_to_set(settings_env, fresh_db, tmp_path, monkeypatch):
    monkeypatch.setenv("ARREARS_DATA_KEYS", "")
    get_settings.cache_clear()
    with pytest.raises(VaultUnavailable, match="ARREARS_DATA_KEYS.*arrears keys new.*arrears-data-keys"):
        vault_from(get_settings(), secret=lambda _name: "")


def _closed_case(engine, closed_on: str) -> None:  # type: ignore[no-untyped-def]
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO collection_case (loan_id, opened_on, opened_stage, stage, status, closed_on, close_reason,"
                " created_at, updated_at) SELECT id, '2026-02-06', 'M1', 'M1', 'closed', :c, 'cured', :t, :t FROM loan"
            ),
            {"c": date.fromisoformat(closed_on), "t": datetime.now(UTC)},
        )
        conn.execute(
            text(
                "INSERT INTO outbox_message (key, as_of, channel, borrower_id, loan_id, template, locale, recipient,"
                " body_text, status, attempts, queued_at, updated_at) SELECT 'k1', '2026-02-07', 'sms', 'B1', id,"
                " 'm1_gentle', 'zh_CN', '+8613812345678', '张伟您好 ...', 'sent', 1, :t, :t FROM loan"
            ),
            {"t": datetime.now(UTC)},
        )


def test_retention_anonymises_borrowers_whose_collection_ended_long_ago_and_keeps_the_figures(fresh_db, tmp_path):
    import_book(engine=fresh_db, directory=_book(tmp_path))
    _closed_case(fresh_db, "2026-04-06")
    with fresh_db.connect() as conn:
        assert due_for_retention(conn, date(2031, 4, 1), 1825)[1] == []  # not yet five years
    with fresh_db.begin() as conn:
        report = apply_retention(conn, date(2031, 4, 30), 1825, tmp_path / "letters", datetime.now(UTC))
    assert report.borrowers == ["B1"]
    b = _borrower(fresh_db)
    assert (b.name, b.id_number, b.id_number_enc, b.phone, b.email, b.address) == (
        ANONYMISED,
        "",
        None,
        None,
        None,
        None,
    )
    with fresh_db.connect() as conn:
        msg = conn.execute(text("SELECT recipient, body_text, status FROM outbox_message")).one()
        assert tuple(msg) == ("", "", "sent")  # the contact is still counted, its content gone
        assert conn.execute(text("SELECT COUNT(*) FROM installment")).scalar() == 3  # the figures stay
    with fresh_db.begin() as conn:  # once is enough
        assert apply_retention(conn, date(2031, 4, 30), 1825, tmp_path, datetime.now(UTC)).borrowers == []


def test_retention_spares_a_borrower_whose_loan_still_runs(fresh_db, tmp_path):
    book = write_book(
        tmp_path / "book",
        borrowers=[GOOD_BORROWER],
        loans=[GOOD_LOAN],
        installments=[*GOOD_INSTALLMENTS, "LN1,4,2035-01-05,1000.00,180.00,0.00"],
    )
    import_book(engine=fresh_db, directory=book)
    _closed_case(fresh_db, "2026-04-06")
    with fresh_db.connect() as conn:
        assert due_for_retention(conn, date(2031, 4, 30), 1825)[1] == []
