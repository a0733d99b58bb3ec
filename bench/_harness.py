"""Run a slice in-process through the real container (shared by the bench scripts)."""

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

from center_api.app import build_container, build_runtime
from center_api.core.settings import Settings, settings_from_mapping

T = TypeVar("T")
REPO = Path(__file__).resolve().parents[1]


def bench_settings(**sections: dict[str, Any]) -> Settings:
    """Settings on the project's model store and a throwaway SQLite database."""
    base: dict[str, Any] = {
        "models": {"dir": str(REPO / "model_store")},
        "database": {"url": "sqlite+aiosqlite:///:memory:"},
        "logging": {"level": "WARNING"},
    }
    base.update(sections)
    return settings_from_mapping(base)


def with_service(service_type: type[Any], work: Callable[[Any], Awaitable[T]]) -> T:
    """Resolve ``service_type`` from a fresh container and run ``work(service)``."""

    async def main() -> T:
        container = build_container(build_runtime(bench_settings()))
        try:
            async with container() as scope:
                return await work(await scope.get(service_type))
        finally:
            await container.close()

    return asyncio.run(main())
