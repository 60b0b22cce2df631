"""Alembic environment: the engine comes from arrears.db.upgrade (or ARREARS_DATABASE_URL)."""

from alembic import context

import models
from arrears.db import make_engine
from arrears.settings import Settings

config = context.config
engine = config.attributes.get("engine") or make_engine(Settings().resolved_database_url)

with engine.begin() as connection:
    context.configure(
        connection=connection,
        target_metadata=models.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()
