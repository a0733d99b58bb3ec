"""``center-api db upgrade|downgrade|current``: schema migrations."""

import asyncio

import click
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from center_api.core.settings import Settings
from center_api.db import migrate


@click.group()
def db() -> None:
    """Database schema (Alembic migrations)."""


@db.command()
@click.argument("revision", default="head")
@click.pass_obj
def upgrade(settings: Settings, revision: str) -> None:
    """Migrate the configured database up to REVISION (default: head)."""
    migrate.upgrade(settings.database.url, revision)
    click.echo(f"database at {_current(settings.database.url)} (head {migrate.head_revision()})")


@db.command()
@click.argument("revision")
@click.pass_obj
def downgrade(settings: Settings, revision: str) -> None:
    """Migrate the configured database down to REVISION (``base`` = empty)."""
    migrate.downgrade(settings.database.url, revision)
    click.echo(f"database at {_current(settings.database.url)}")


@db.command()
@click.pass_obj
def current(settings: Settings) -> None:
    """Show the database's revision and the code's head."""
    click.echo(f"current {_current(settings.database.url)}, head {migrate.head_revision()}")


def _current(url: str) -> str | None:
    async def read() -> str | None:
        engine = create_async_engine(url, poolclass=NullPool)
        try:
            async with engine.connect() as connection:
                return await connection.run_sync(migrate.current_revision)
        finally:
            await engine.dispose()

    return asyncio.run(read())
