"""The ``worker`` role: run queued tasks from the shared queue, serve no HTTP."""

import asyncio
import signal

from center_api.bootstrap.runtime import build_container, build_runtime
from center_api.core.logging import configure_logging, get_logger
from center_api.core.settings import Settings, SettingsError
from center_api.tasks.service import TaskService

logger = get_logger("center_api.app")


async def run_worker(settings: Settings) -> None:
    """The ``worker`` role: run queued tasks without serving HTTP, until SIGINT/SIGTERM.

    Raises:
        SettingsError: When ``[queue] url`` is empty (nothing else could feed this worker).
    """
    if not settings.queue.url:
        raise SettingsError("the worker role needs a shared queue: set [queue] url / QUEUE_URL")
    configure_logging(settings.logging)
    runtime = build_runtime(settings)
    container = build_container(runtime)
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stopping.set)
    runtime.usage.start()
    service = await container.get(TaskService)
    try:
        await service.start()
        logger.info("worker.started", slots=settings.tasks.workers, queue=settings.queue.name)
        await stopping.wait()
    finally:
        await service.stop()
        await runtime.usage.close()
        await container.close()
        await runtime.db_config.get_engine().dispose()
        logger.info("worker.stopped")
