"""Alembic environment: runs on the connection JIP hands in (or JIP_DATABASE_URL)."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from jip.index.models import Base

config = context.config
target_metadata = Base.metadata


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()


connection = config.attributes.get("connection")
if connection is not None:
    _run(connection)
else:
    from jip.config import get_settings
    from jip.index.db import make_engine

    engine = make_engine(get_settings().resolved_database_url)
    with engine.begin() as conn:
        _run(conn)
