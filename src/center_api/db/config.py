"""Database configuration: one advanced-alchemy config per process (SQLite default, PostgreSQL)."""

from pathlib import Path

from advanced_alchemy.extensions.litestar import (
    AsyncSessionConfig,
    EngineConfig,
    SQLAlchemyAsyncConfig,
)
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from center_api.core.settings import DatabaseSettings


def build_db_config(settings: DatabaseSettings) -> SQLAlchemyAsyncConfig:
    """Return the SQLAlchemy config; commits follow the response status (autocommit)."""
    is_sqlite = ensure_sqlite_directory(settings.url)
    engine = (
        # SQLite gains nothing from pooling and aiosqlite leaves pooled connections' threads
        # behind at dispose; one connection per unit of work is simpler and leak-free.
        EngineConfig(poolclass=NullPool)
        if is_sqlite
        else EngineConfig(pool_size=settings.pool_size, pool_pre_ping=True)
    )
    return SQLAlchemyAsyncConfig(
        connection_string=settings.url,
        engine_config=engine,
        # Rows outlive their short sessions (async code must not lazy-load after commit).
        session_config=AsyncSessionConfig(expire_on_commit=False),
        before_send_handler="autocommit",
        create_all=False,
    )


def ensure_sqlite_directory(url: str) -> bool:
    """Create the parent folder of a file-backed SQLite database; True for SQLite URLs."""
    parsed = make_url(url)
    is_sqlite = parsed.get_backend_name() == "sqlite"
    if is_sqlite and parsed.database not in (None, "", ":memory:"):
        Path(str(parsed.database)).parent.mkdir(parents=True, exist_ok=True)
    return is_sqlite
