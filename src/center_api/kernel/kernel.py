"""The inference kernel: one per process, shared by every slice."""

import asyncio
import contextlib
from collections.abc import Callable
from functools import partial
from typing import TypeVar

from center_api.core.logging import get_logger
from center_api.core.metrics import Metrics
from center_api.core.settings import InferenceSettings
from center_api.kernel.model_store import ModelStore
from center_api.kernel.scheduler import InferenceScheduler
from center_api.kernel.sessions import LoadedModel, SessionCache

T = TypeVar("T")
logger = get_logger("center_api.kernel")


class InferenceKernel:
    """Model store + session cache + scheduler behind one small API.

    Slices call ``await kernel.run(job)`` for any CPU-heavy work and, inside that job,
    ``kernel.model(id).run(feeds)`` for inference. The job holds an inference slot for its
    model calls only: decoding and encoding through `kernel.imaging` give it to the next job.
    In a task, the job's phases (queued, decode, infer, compose, encode) are its progress.
    """

    def __init__(self, store: ModelStore, settings: InferenceSettings, metrics: Metrics) -> None:
        """Wire the kernel; nothing is loaded until first use."""
        self.store = store
        self.settings = settings
        self.sessions = SessionCache(store, settings, metrics)
        self.scheduler = InferenceScheduler(settings, metrics)
        self._sweeper: asyncio.Task[None] | None = None

    async def run(
        self, job: Callable[[], T], *, label: str = "job", memory_mb: float | None = None
    ) -> T:
        """Run a CPU-heavy ``job`` on the kernel's threads (see `InferenceScheduler.run`)."""
        return await self.scheduler.run(job, label=label, memory_mb=memory_mb)

    def model(self, model_id: str) -> LoadedModel:
        """Return a loaded model; blocking, so call it inside a job."""
        return self.sessions.get(model_id)

    def start(self) -> None:
        """Start the idle-session sweeper (call from inside the running loop)."""
        if self._sweeper is None:
            self._sweeper = asyncio.get_running_loop().create_task(self._sweep_forever())

    async def warm_up(self, model_ids: list[str]) -> None:
        """Load the installed ones of ``model_ids`` now, off the event loop."""
        for model_id in model_ids:
            if self.store.is_installed(model_id):
                await self.run(partial(self.model, model_id), label="warm-up", memory_mb=0)

    async def close(self) -> None:
        """Stop the sweeper, finish running jobs, drop sessions."""
        if self._sweeper is not None:
            self._sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sweeper
        await asyncio.to_thread(self.scheduler.close)
        self.sessions.clear()

    async def _sweep_forever(self) -> None:
        interval = min(60.0, self.settings.session_idle_ttl_s / 2)
        while True:
            await asyncio.sleep(interval)
            self.sessions.sweep()
