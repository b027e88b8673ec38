"""Alembic environment: runs on the connection storage.db hands over."""
from alembic import context
from sqlalchemy import create_engine

from storage.models import Base, include_name

config = context.config
target_metadata = Base.metadata


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is None:  # `alembic` command line: needs sqlalchemy.url
        engine = create_engine(config.get_main_option("sqlalchemy.url"))
        with engine.begin() as connection:
            _run(connection)
        return
    _run(connection)


def _run(connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        # SQLite has almost no ALTER: batch mode copies and moves tables instead.
        render_as_batch=connection.dialect.name == "sqlite",
        # Each revision commits on its own, so a failure leaves a known revision.
        transaction_per_migration=True,
        compare_type=True,
        include_name=include_name,  # the full-text search objects live outside the metadata
    )
    with context.begin_transaction():
        context.run_migrations()


run_migrations_online()
