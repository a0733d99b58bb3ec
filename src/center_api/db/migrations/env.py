"""Alembic environment: async engines, our tables only, batch mode for SQLite."""

import asyncio
from typing import Any

from advanced_alchemy.base import UUIDv7AuditBase
from alembic import context
from sqlalchemy import pool
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

import center_api.db.models  # noqa: F401 - registers the tables on the metadata

OUR_TABLES = {"processing_tasks", "tool_usage", "api_keys"}
target_metadata = UUIDv7AuditBase.metadata


def include_object(obj: Any, name: str | None, kind: str, reflected: bool, other: Any) -> bool:
    """Only manage our tables (the shared metadata may hold others)."""
    if kind == "table":
        return name in OUR_TABLES
    table = getattr(obj, "table", None)
    return table is None or table.name in OUR_TABLES


def run_with(connection: Connection) -> None:
    """Run the migrations on one connection."""
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        include_object=include_object,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


async def run_online() -> None:
    """Connect with the configured URL and migrate."""
    url = context.config.get_main_option("sqlalchemy.url")
    engine = create_async_engine(str(url), poolclass=pool.NullPool)
    try:
        async with engine.connect() as connection:
            await connection.run_sync(run_with)
            await connection.commit()
    finally:
        await engine.dispose()


if context.is_offline_mode():
    context.configure(
        url=context.config.get_main_option("sqlalchemy.url"),
        target_metadata=target_metadata,
        include_object=include_object,
        literal_binds=True,
    )
    with context.begin_transaction():
        context.run_migrations()
else:
    asyncio.run(run_online())
