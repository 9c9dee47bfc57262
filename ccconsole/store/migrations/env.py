"""Alembic environment: runs on the connection the app hands over, or on the configured URL."""

from alembic import context
from sqlmodel import SQLModel

from ccconsole.store import models  # noqa: F401  (registers the tables)
from ccconsole.store.db import make_engine

target_metadata = SQLModel.metadata


def run() -> None:
    connection = context.config.attributes.get("connection")
    if connection is not None:
        context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()
        return
    url = context.config.get_main_option("sqlalchemy.url")
    assert url is not None, "alembic.ini or the caller sets sqlalchemy.url"
    engine = make_engine(url)  # SQLite: with ccconsole's SQL functions, which an index uses (0004)
    with engine.begin() as conn:
        context.configure(connection=conn, target_metadata=target_metadata, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()


run()
