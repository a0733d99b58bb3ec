"""Liveness and readiness: is the process up, can it serve (models, database)?"""

import asyncio
import time
from typing import Any

from advanced_alchemy.extensions.litestar import SQLAlchemyAsyncConfig

from center_api.db.migrate import current_revision, head_revision
from center_api.kernel.kernel import InferenceKernel
from center_api.registry.loader import SliceRegistry

DB_TIMEOUT_S = 3.0


class HealthService:
    """Builds the health report."""

    def __init__(
        self, kernel: InferenceKernel, registry: SliceRegistry, db: SQLAlchemyAsyncConfig
    ) -> None:
        self._kernel = kernel
        self._registry = registry
        self._db = db
        self._started = time.monotonic()

    async def report(self) -> dict[str, Any]:
        """Return ``{"ready": bool, "checks": {...}}``; ready means every check passed."""
        checks = {"model_store": self.model_store(), "database": await self.database()}
        scheduler = self._kernel.scheduler
        ready = all(check["ok"] for check in checks.values())
        return {
            "status": "ok" if ready else "unavailable",
            "live": True,
            "ready": ready,
            "checks": checks,
            "inference": {
                "running": scheduler.active,
                "waiting": scheduler.waiting,
                "max_concurrent": scheduler.max_concurrent,
                "queue_max_size": scheduler.queue_max_size,
                "loaded_models": self._kernel.sessions.loaded(),
            },
        }

    def model_store(self) -> dict[str, Any]:
        """Every model a mounted slice requires is installed."""
        store = self._kernel.store
        required = sorted({m.id for s in self._registry.mounted() for m in s.models if m.required})
        missing = [m for m in required if m not in store.ids() or not store.is_installed(m)]
        return {
            "ok": store.directory.is_dir() and not missing,
            "directory": str(store.directory),
            "required": required,
            "missing": missing,
        }

    async def database(self) -> dict[str, Any]:
        """The database answers within the timeout and its schema is at the code's head."""
        start = time.perf_counter()
        try:
            async with asyncio.timeout(DB_TIMEOUT_S), self._db.get_engine().connect() as conn:
                revision = await conn.run_sync(current_revision)
        except Exception as exc:  # any failure means not ready
            return {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
        head = head_revision()
        report: dict[str, Any] = {
            "ok": revision == head,
            "latency_ms": round((time.perf_counter() - start) * 1000, 1),
            "revision": revision,
            "head": head,
        }
        if revision != head:
            report["error"] = (
                "the schema is not at the latest revision: run `center-api db upgrade`"
            )
        return report
