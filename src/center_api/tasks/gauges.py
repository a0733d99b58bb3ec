"""The ``queue_size`` and ``active_tasks`` gauges: tasks, counted in the database.

``queue_size`` is the number of tasks waiting to run (PENDING), ``active_tasks`` the number
running (PROCESSING or PAUSING); a batch counts as its children. Every process reads the
shared database, so each reports the whole system's numbers. They are refreshed every
heartbeat and shortly after any task event (at most one refresh in flight).
"""

import asyncio
import contextlib
from typing import Any

from center_api.core.logging import get_logger
from center_api.core.metrics import Metrics
from center_api.tasks.domain import RUNNING, TaskStatus
from center_api.tasks.store import TaskStore

logger = get_logger("center_api.tasks")
# Events in quick succession (a batch) lead to one count this long after the first.
SETTLE_S = 0.2


class TaskGauges:
    """Counts tasks into the metrics (does nothing without metrics)."""

    def __init__(self, store: TaskStore, metrics: Metrics | None) -> None:
        self._store, self._metrics = store, metrics
        self._pending: asyncio.Task[None] | None = None

    async def refresh(self) -> None:
        """Count now (a database hiccup leaves the last values)."""
        if self._metrics is None:
            return
        try:
            counts = await self._store.count_runnable()
        except Exception as exc:  # the next beat tries again
            logger.warning("tasks.gauges_failed", error=str(exc))
            return
        self._metrics.queue_size.set(counts.get(TaskStatus.PENDING.value, 0))
        self._metrics.active_tasks.set(sum(counts.get(s.value, 0) for s in RUNNING))

    def soon(self, task_id: str, event: dict[str, Any]) -> None:
        """An event listener: count again shortly, unless a count is already on its way."""
        if self._metrics is None or (self._pending is not None and not self._pending.done()):
            return
        with contextlib.suppress(RuntimeError):  # no running loop: the next beat counts
            self._pending = asyncio.get_running_loop().create_task(self._settle_and_refresh())

    async def _settle_and_refresh(self) -> None:
        await asyncio.sleep(SETTLE_S)
        await self.refresh()
