"""The task service: one object per process over the task system's concerns.

`submit` takes work in, `control` moves it (cancel, pause, resume), `query` reads it (batch
summaries, results, event streams), `lifecycle` runs it (start, recovery, sweeps, stop).
"""

from center_api.auth.key_store import ApiKeyStore
from center_api.core.metrics import Metrics
from center_api.core.settings import Settings
from center_api.registry.loader import SliceRegistry
from center_api.tasks.control import TaskControl
from center_api.tasks.lifecycle import TaskLifecycle
from center_api.tasks.parts import TaskParts
from center_api.tasks.query import TaskQuery
from center_api.tasks.submit import TaskSubmissions


class TaskService:
    """Owns the task lifecycle on this node; the queue adapter decides where work runs.

    Attributes:
        submissions: validate, reserve, store and enqueue (`TaskSubmissions`).
        control: cancel, pause, resume (`TaskControl`).
        query: batch summaries, results, event streams (`TaskQuery`).
        lifecycle: start, recovery, sweeps, stop (`TaskLifecycle`).
    """

    def __init__(
        self,
        parts: TaskParts,
        registry: SliceRegistry,
        settings: Settings,
        keys: ApiKeyStore,
        metrics: Metrics | None = None,
    ) -> None:
        self.parts = parts
        self.store, self.results, self.queue = parts.store, parts.results, parts.queue
        self.runner, self.events = parts.runner, parts.events
        self.submissions = TaskSubmissions(parts, registry, settings, keys)
        self.control = TaskControl(parts)
        self.query = TaskQuery(parts)
        self.lifecycle = TaskLifecycle(parts, settings, metrics)

    async def start(self) -> None:
        """Start delivering work and recover what a crash left behind (see `TaskLifecycle`)."""
        await self.lifecycle.start()

    async def stop(self) -> None:
        """Stop everything this service started, putting running tasks back to PENDING."""
        await self.lifecycle.stop()
