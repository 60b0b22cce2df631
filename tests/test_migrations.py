"""The schema is Alembic's: migrations reach head on SQLite and PostgreSQL and match the models."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from typer.testing import CliRunner

import models
from arrears.cli import app
from arrears.db import alembic_config, current_revision, make_engine, upgrade


def test_migrations_match_the_models(fresh_db):
    with fresh_db.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), models.metadata)
    assert diff == []


def test_upgrade_is_idempotent(fresh_db):
    upgrade(fresh_db)
    assert current_revision(fresh_db) is not None


def test_db_upgrade_command_reports_the_revision(settings_env):
    result = CliRunner().invoke(app, ["db", "upgrade"])
    assert result.exit_code == 0, result.output
    head = ScriptDirectory.from_config(alembic_config(make_engine(settings_env))).get_current_head()
    assert f"schema at revision {head}" in result.output
    assert current_revision(make_engine(settings_env)) == head
