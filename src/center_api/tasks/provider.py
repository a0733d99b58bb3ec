"""dishka provider of the task system (one per process)."""

from collections.abc import AsyncIterator
from pathlib import Path

from advanced_alchemy.extensions.litestar import SQLAlchemyAsyncConfig
from dishka import AsyncContainer, Provider, Scope, provide

from center_api.auth.key_store import ApiKeyStore
from center_api.core.settings import Settings
from center_api.registry.loader import SliceRegistry
from center_api.tasks.events import TaskEvents
from center_api.tasks.queue.local import LocalTaskQueue
from center_api.tasks.queue.port import TaskQueue
from center_api.tasks.results import LocalResultStore, ResultStore
from center_api.tasks.runner import RunnerContext, TaskRunner
from center_api.tasks.service import TaskService
from center_api.tasks.store import TaskStore


class TaskProvider(Provider):
    """Builds the store, result store, queue, runner and service; stops them on close."""

    scope = Scope.APP

    @provide
    async def service(
        self,
        settings: Settings,
        db: SQLAlchemyAsyncConfig,
        registry: SliceRegistry,
        container: AsyncContainer,
    ) -> AsyncIterator[TaskService]:
        """The task service; `start()` is called by the app at startup."""
        store = TaskStore(db)
        results = build_result_store(settings)
        queue = build_queue(settings)
        events = build_events(settings)
        context = RunnerContext(settings=settings.tasks, fetch=settings.fetch, events=events)
        runner = TaskRunner(store, results, queue, registry, container, context)
        keys = ApiKeyStore(db)
        service = TaskService(store, results, queue, runner, registry, settings, events, keys)
        yield service
        await service.stop()


def build_queue(settings: Settings) -> TaskQueue:
    """The queue adapter ``[queue] url`` names: empty = in-process, ``redis://`` = SAQ."""
    if not settings.queue.url:
        return LocalTaskQueue(workers=settings.tasks.workers)
    from center_api.tasks.queue.saq import SaqTaskQueue  # noqa: PLC0415 - optional extra

    return SaqTaskQueue(settings.queue.url, settings.queue.name, settings.tasks.workers)


def build_events(settings: Settings) -> TaskEvents:
    """Progress events: in process, or through the queue's Redis when the queue is shared."""
    if not settings.queue.url:
        return TaskEvents()
    from center_api.tasks.events_redis import RedisTaskEvents  # noqa: PLC0415 - optional extra

    return RedisTaskEvents(settings.queue.url, settings.queue.name)


def build_result_store(settings: Settings) -> ResultStore:
    """The result store ``[storage] url`` names: empty = ``tasks.results_dir``, ``s3://`` = S3.

    Raises:
        ValueError: An ``s3://`` URL without a bucket or with unknown parameters.
    """
    url = settings.storage.url
    if not url or not url.startswith("s3://"):
        return LocalResultStore(Path(settings.tasks.results_dir))
    from center_api.tasks.results_s3 import S3ResultStore  # noqa: PLC0415 - optional extra

    return S3ResultStore.from_url(url)
