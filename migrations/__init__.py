"""Alembic revisions for the schema, and the one function that applies them."""

import logging
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, text

_HERE = Path(__file__).resolve().parent
logger = logging.getLogger(__name__)
# Any fixed number will do, as long as every process migrating this database takes the same one
# ("mentor" in ASCII).
MIGRATION_LOCK_KEY = 0x6D656E746F72


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(_HERE))
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the database to `revision`; safe to run at every start, in any number of processes."""
    config = alembic_config()
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            # Processes starting together on a fresh database would each create the schema and
            # all but one crash on a duplicate; with the lock the others wait, then find the
            # schema current. Transaction-scoped, so a crashed migrator cannot leave it held.
            # (SQLite needs none: our BEGIN IMMEDIATE already lets one writer in at a time.)
            connection.execute(
                text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY}
            )
        before = MigrationContext.configure(connection).get_current_revision()
        config.attributes["connection"] = connection
        command.upgrade(config, revision)
        after = MigrationContext.configure(connection).get_current_revision()
    if before != after:
        # Alembic's own lines are quiet unless LOG_LEVEL=DEBUG; this one says what changed.
        logger.info("database schema upgraded from %s to %s", before or "empty", after)
