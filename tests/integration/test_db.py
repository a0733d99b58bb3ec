"""Migrations and repositories on SQLite and on the local PostgreSQL (the same tests for both)."""

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import inspect
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine
from sqlalchemy.pool import NullPool

from center_api.core.settings import DatabaseSettings
from center_api.db import migrate
from center_api.db.config import build_db_config
from center_api.db.models import ApiKey, ProcessingTask, ToolUsage
from center_api.tasks.domain import TaskStatus
from center_api.tasks.store import TaskStore
from center_api.usage.repository import ToolUsageRepository
from tests.support.services import fresh_postgres_database

TABLES = {"processing_tasks", "tool_usage", "api_keys", "result_ratings"}


@pytest.fixture(scope="module")
def postgres_url() -> Iterator[str]:
    """A fresh PostgreSQL database for this module, dropped afterwards."""
    with fresh_postgres_database() as url:
        yield url


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_db_url(request, tmp_path) -> str:
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path}/empty.db"
    url = request.getfixturevalue("postgres_url")
    migrate.downgrade(url, "base")  # each test starts from an empty schema
    return url


async def _inspect(url: str) -> tuple[set[str], dict[str, set[str]], str | None]:
    engine = create_async_engine(url, poolclass=NullPool)
    try:
        async with engine.connect() as connection:

            def read(sync_connection):
                inspector = inspect(sync_connection)
                tables = set(inspector.get_table_names()) & TABLES
                indexes = {t: {i["name"] for i in inspector.get_indexes(t)} for t in tables}
                return tables, indexes, migrate.current_revision(sync_connection)

            return await connection.run_sync(read)
    finally:
        await engine.dispose()


def test_upgrade_from_empty_creates_tables_and_indexes_and_downgrade_removes_them(empty_db_url):
    assert asyncio.run(_inspect(empty_db_url))[0] == set()
    migrate.upgrade(empty_db_url)
    tables, indexes, revision = asyncio.run(_inspect(empty_db_url))
    assert tables == TABLES
    assert revision == migrate.head_revision()
    assert {"ix_tool_usage_tool_created", "ix_tool_usage_caller_created"} <= indexes["tool_usage"]
    assert "ix_processing_tasks_status_priority_created" in indexes["processing_tasks"]
    assert "ix_result_ratings_tool_created" in indexes["result_ratings"]
    migrate.downgrade(empty_db_url, "base")
    tables, _, revision = asyncio.run(_inspect(empty_db_url))
    assert tables == set() and revision is None
    migrate.upgrade(empty_db_url)  # and back up again
    assert asyncio.run(_inspect(empty_db_url))[0] == TABLES


async def _exercise_repository(url: str) -> None:
    engine = create_async_engine(url, poolclass=NullPool)
    try:
        async with async_sessionmaker(engine, expire_on_commit=False)() as session:
            repository = ToolUsageRepository(session=session)
            now = datetime.now(UTC)
            rows = [
                ToolUsage(
                    tool="cutout" if i % 3 else "other",
                    caller="anonymous",
                    outcome="success" if i % 4 else "client_error",
                    status_code=200 if i % 4 else 422,
                    duration_ms=float(i),
                )
                for i in range(12)
            ]
            await repository.add_many(rows, auto_commit=True)
            total = await repository.count()
            cutouts = await repository.count(ToolUsage.tool == "cutout")
            recent = await repository.count(ToolUsage.created_at >= now - timedelta(minutes=1))
            assert (total, cutouts, recent) == (12, 8, 12)
            session.add(ProcessingTask(tool="cutout", options={"model": "u2netp"}))
            session.add(ApiKey(name="ci", prefix="ca_test", secret_hash="x", role="admin"))
            await session.commit()
            task = (await session.execute(ProcessingTask.__table__.select())).one()
            assert task.status == "PENDING" and task.options == {"model": "u2netp"}
    finally:
        await engine.dispose()


def test_repositories_write_and_query_on_both_backends(empty_db_url):
    migrate.upgrade(empty_db_url)
    asyncio.run(_exercise_repository(empty_db_url))


async def _exercise_guards(url: str) -> None:
    config = build_db_config(DatabaseSettings(url=url))
    store = TaskStore(config)
    try:
        now = datetime.now(UTC)
        fresh, stale = (
            ProcessingTask(
                tool="cutout",
                status="PROCESSING",
                options={},
                attempts=2,
                started_at=beat,
                heartbeat_at=beat,
            )
            for beat in (now, now - timedelta(minutes=5))
        )
        await store.add([fresh, stale])
        cutoff = now - timedelta(seconds=60)
        # A superseded attempt cannot finish the task; the current one can.
        assert not await store.transition(str(fresh.id), TaskStatus.COMPLETED, attempt=1)
        # Recovery moves a row only while its heartbeat is stale.
        assert not await store.transition(str(fresh.id), TaskStatus.PENDING, stale_before=cutoff)
        assert await store.transition(str(stale.id), TaskStatus.PENDING, stale_before=cutoff)
        assert await store.transition(str(fresh.id), TaskStatus.COMPLETED, attempt=2)
        # Touching is fenced too: only the attempt that runs the row keeps it alive.
        await store.transition(str(stale.id), TaskStatus.PROCESSING, attempts=3)
        await store.touch(str(stale.id), attempt=2)
        assert (await store.get(str(stale.id))).heartbeat_at == stale.heartbeat_at
        await store.touch(str(stale.id), attempt=3)
        assert (await store.get(str(stale.id))).heartbeat_at > now
    finally:
        await config.get_engine().dispose()


def test_task_transitions_are_fenced_by_attempt_and_heartbeat(empty_db_url):
    migrate.upgrade(empty_db_url)
    asyncio.run(_exercise_guards(empty_db_url))
