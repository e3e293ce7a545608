"""Alembic environment: runs migrations against the URL set by promptops.db.session.migrate."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine, pool, text

from promptops.db.models import Base

config = context.config
target_metadata = Base.metadata


def run_migrations_online() -> None:
    url = config.get_main_option("sqlalchemy.url")
    assert url is not None
    engine = create_engine(url, poolclass=pool.NullPool)
    with engine.connect() as connection:
        is_pg = connection.dialect.name == "postgresql"
        if is_pg:
            # Several processes starting at once: one migrates, the others wait here.
            connection.execute(text("SELECT pg_advisory_lock(727274)"))
            connection.commit()
        try:
            context.configure(
                connection=connection,
                target_metadata=target_metadata,
                render_as_batch=connection.dialect.name == "sqlite",
                compare_type=True,
            )
            with context.begin_transaction():
                context.run_migrations()
        finally:
            if is_pg:
                connection.execute(text("SELECT pg_advisory_unlock(727274)"))
                connection.commit()
    engine.dispose()


if context.is_offline_mode():
    raise SystemExit("offline migrations are not supported; run `promptops migrate`")
run_migrations_online()
