"""Alembic environment: runs revisions on the bot's own connection or on DATABASE_URL."""

from alembic import context
from sqlalchemy import Connection

from bot.core.database import make_engine
from bot.core.models import Base, UTCDateTime

config = context.config


def _render_item(type_: str, obj: object, autogen_context: object) -> str | bool:
    # Revisions must not import bot.models, which will change after they are written.
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        render_item=_render_item,
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def _database_url() -> str:
    from dotenv import find_dotenv, load_dotenv

    from bot.core.settings import load_settings

    load_dotenv(find_dotenv(usecwd=True))
    return load_settings(need_slack=False).database_url


connection = config.attributes.get("connection")
if connection is not None:
    _run(connection)
else:
    engine = make_engine(_database_url())
    with engine.connect() as fresh:
        _run(fresh)
    engine.dispose()
