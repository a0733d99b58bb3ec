"""The dishka providers of the process: settings and friends, database sessions, the kernel, tasks.

Slices bring their own providers (`Slice.providers()`); `runtime.build_container` puts these
first, then the slices', then any overrides.
"""

from collections.abc import AsyncIterator
from pathlib import Path

from advanced_alchemy.extensions.litestar import SQLAlchemyAsyncConfig
from dishka import AsyncContainer, Provider, Scope, from_context, provide
from litestar import Request
from sqlalchemy.ext.asyncio import AsyncSession

from center_api.auth.key_store import ApiKeyStore
from center_api.auth.keys import ANONYMOUS_PRINCIPAL, Principal, principal_of
from center_api.cache.results import ResultCache
from center_api.core.metrics import Metrics
from center_api.core.settings import Settings
from center_api.http.health import HealthService
from center_api.kernel.kernel import InferenceKernel
from center_api.kernel.model_store import ModelStore
from center_api.registry.loader import SliceRegistry
from center_api.sdk.orders import TaskDesk
from center_api.sdk.steps import ToolSteps
from center_api.tasks.desk import ServiceTaskDesk
from center_api.tasks.events import TaskEvents
from center_api.tasks.parts import TaskParts
from center_api.tasks.queue.local import LocalTaskQueue
from center_api.tasks.queue.port import TaskQueue
from center_api.tasks.results import LocalResultStore, ResultStore
from center_api.tasks.runner import RunnerContext, TaskRunner
from center_api.tasks.service import TaskService
from center_api.tasks.store import TaskStore
from center_api.tasks.streams import TaskStreams
from center_api.usage.recorder import UsageRecorder


class CoreProvider(Provider):
    """Process-wide objects built by the composition root and passed in as context."""

    scope = Scope.APP

    settings = from_context(provides=Settings)
    metrics = from_context(provides=Metrics)
    registry = from_context(provides=SliceRegistry)
    model_store = from_context(provides=ModelStore)
    db_config = from_context(provides=SQLAlchemyAsyncConfig)
    usage = from_context(provides=UsageRecorder)

    health = provide(HealthService, scope=Scope.REQUEST)
    # Pipelines: other slices' run() in process, with a usage row per step.
    tool_steps = provide(ToolSteps, scope=Scope.REQUEST)

    @provide(scope=Scope.REQUEST)
    def principal(self, request: Request) -> Principal:
        """The caller the security gate admitted (anonymous if none was established)."""
        return principal_of(request.scope) or ANONYMOUS_PRINCIPAL


class DatabaseProvider(Provider):
    """One session per request (or per task run), closed when the scope ends."""

    @provide(scope=Scope.REQUEST)
    async def session(self, config: SQLAlchemyAsyncConfig) -> AsyncIterator[AsyncSession]:
        """Open a session; whoever writes commits explicitly."""
        async with config.get_session() as session:
            yield session


class KernelProvider(Provider):
    """One kernel per container (i.e. per process or app) over the app's model store."""

    scope = Scope.APP

    @provide
    async def kernel(
        self, store: ModelStore, settings: Settings, metrics: Metrics
    ) -> AsyncIterator[InferenceKernel]:
        """Build the kernel inside the running loop; closed with the container."""
        kernel = InferenceKernel(store, settings.inference, metrics)
        kernel.start()
        yield kernel
        await kernel.close()

    @provide
    async def result_cache(
        self, settings: Settings, store: ModelStore
    ) -> AsyncIterator[ResultCache]:
        """The result cache ``[cache]`` configures; closed with the container."""
        cache = ResultCache.build(settings, store)
        yield cache
        await cache.close()


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
        metrics: Metrics,
    ) -> AsyncIterator[TaskService]:
        """The task service; `start()` is called by the app at startup."""
        store = TaskStore(db)
        results = build_result_store(settings)
        queue = build_queue(settings)
        events = build_events(settings)
        context = RunnerContext(settings=settings.tasks, fetch=settings.fetch, events=events)
        runner = TaskRunner(store, results, queue, registry, container, context)
        parts = TaskParts(store, results, queue, runner, events, TaskStreams(store, events))
        service = TaskService(parts, registry, settings, ApiKeyStore(db), metrics)
        yield service
        await service.stop()

    @provide(scope=Scope.REQUEST)
    def desk(self, service: TaskService, caller: Principal) -> TaskDesk:
        """The SDK's `TaskDesk` port: a slice's route queues tasks for the calling key."""
        return ServiceTaskDesk(service, caller.owner)


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
