"""Liveness and readiness: is the process up, can it serve (models, database)?"""

import asyncio
import time
from typing import Any

from advanced_alchemy.extensions.litestar import SQLAlchemyAsyncConfig
from sqlalchemy import text

from center_api import __version__
from center_api.core.logging import get_logger
from center_api.db.migrate import current_revision, head_revision
from center_api.kernel.kernel import InferenceKernel
from center_api.registry.loader import SliceRegistry

DB_TIMEOUT_S = 3.0
_WRITE_PROBE = text("UPDATE alembic_version SET version_num = version_num")
logger = get_logger("center_api.health")


class HealthService:
    """Builds the health report."""

    def __init__(
        self, kernel: InferenceKernel, registry: SliceRegistry, db: SQLAlchemyAsyncConfig
    ) -> None:
        self._kernel = kernel
        self._registry = registry
        self._db = db
        self._started = time.monotonic()

    async def report(self, *, details: bool) -> dict[str, Any]:
        """``{"status", "version", "ready"}``; with ``details`` (admins) the checks and slots.

        Ready means every check passed. Nothing in it names a path, an address, SQL or a
        driver's message, whoever asks.
        """
        checks = {"model_store": self.model_store(), "database": await self.database()}
        ready = all(check["ok"] for check in checks.values())
        summary = {"status": "ok" if ready else "unavailable", "version": __version__}
        if not details:
            return {**summary, "ready": ready}
        scheduler = self._kernel.scheduler
        return {
            **summary,
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
            "directory_present": store.directory.is_dir(),
            "required": required,
            "missing": missing,
        }

    async def database(self) -> dict[str, Any]:
        """The database answers within the timeout, takes writes, and its schema is at head.

        The write probe rewrites the schema's own revision row and rolls back, so a read-only
        file or a database that refuses writes makes the server not ready.
        """
        start = time.perf_counter()
        try:
            async with asyncio.timeout(DB_TIMEOUT_S), self._db.get_engine().connect() as conn:
                revision = await conn.run_sync(current_revision)
                if revision is not None:
                    await conn.execute(_WRITE_PROBE)
                    await conn.rollback()
        except TimeoutError:
            return {"ok": False, "error": f"no answer within {DB_TIMEOUT_S:g} s"}
        except Exception as exc:  # any failure means not ready; the log has the driver's text
            logger.warning("health.database_failed", error=f"{type(exc).__name__}: {exc}")
            kind = type(exc).__name__  # the class only: its text may carry SQL or addresses
            return {
                "ok": False,
                "error": f"the database refused, is read-only or is unreachable ({kind})",
            }
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
