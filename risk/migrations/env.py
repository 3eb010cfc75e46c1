"""Alembic environment: runs on the connection handed over by :func:`risk.store.migrate`."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

from risk.store import metadata

config = context.config


def run_migrations() -> None:
    connection = config.attributes.get("connection")
    if connection is None:  # the alembic command line: the URL comes from -x url=...
        url = context.get_x_argument(as_dictionary=True).get("url")
        if not url:
            raise RuntimeError("pass the database with: alembic -x url=<database URL> ...")
        with create_engine(url).begin() as conn:
            _run(conn)
    else:
        _run(connection)


def _run(connection: object) -> None:
    context.configure(
        connection=connection,  # type: ignore[arg-type]
        target_metadata=metadata,
        render_as_batch=True,  # SQLite needs batch mode for ALTER
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


run_migrations()
