"""The machine's PostgreSQL and Redis, for tests that talk to them for real.

Tests needing one skip when it is down, except under CI, where a missing service is a failure.
"""

import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from typing import NoReturn
from urllib.parse import urlsplit

import pytest

from center_api.testing.cluster import create_database, drop_database

PG_ADMIN_URL = os.environ.get("CENTER_API_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("CENTER_API_TEST_REDIS", "redis://127.0.0.1:6379/0")


def unavailable(reason: str) -> NoReturn:
    """Skip with ``reason``, or fail under CI (where the service must be running)."""
    if os.environ.get("CI"):
        pytest.fail(f"{reason} (CI is set)")
    pytest.skip(reason)


def redis_url() -> str:
    """The test Redis URL, once it answers on its port (else skip/fail)."""
    parts = urlsplit(REDIS_URL)
    try:
        with socket.create_connection((parts.hostname, parts.port or 6379), timeout=0.5):
            return REDIS_URL
    except OSError:
        unavailable(
            f"Redis is not reachable at {REDIS_URL}: start one (apt-get install redis-server) "
            "or point CENTER_API_TEST_REDIS at one"
        )


@contextmanager
def fresh_postgres_database() -> Iterator[str]:
    """A new, empty PostgreSQL database (asyncpg URL), dropped afterwards."""
    try:
        url = create_database(PG_ADMIN_URL)
    except OSError as exc:
        unavailable(
            f"PostgreSQL at {PG_ADMIN_URL} is not reachable ({exc}): start one (apt-get install "
            "postgresql; user postgres, trust auth, database test) or set CENTER_API_TEST_PG"
        )
    try:
        yield url
    finally:
        drop_database(PG_ADMIN_URL, url)
