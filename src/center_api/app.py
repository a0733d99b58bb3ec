"""The composition root: ``create_app()`` wires settings, container, slices and the HTTP layer.

Nothing heavy happens here (the Litestar CLI calls the factory for every command): models load
on first use, or at startup when ``inference.warm_up`` is on.
"""

import asyncio
import signal
from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from advanced_alchemy.extensions.litestar import SQLAlchemyAsyncConfig, SQLAlchemyPlugin
from dishka import STRICT_VALIDATION, AsyncContainer, Provider, make_async_container
from dishka.integrations.litestar import LitestarProvider, setup_dishka
from litestar import Litestar, Router
from litestar.config.cors import CORSConfig
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import ScalarRenderPlugin, SwaggerRenderPlugin

from center_api import __version__
from center_api.auth.access import PUBLIC
from center_api.auth.gate import SecurityGate, SecurityHeaders, warn_if_exposed
from center_api.auth.key_store import ApiKeyStore
from center_api.auth.rate_limit import RateLimiter, build_rate_limit_store
from center_api.core.di import CoreProvider
from center_api.core.heap import keep_large_blocks_apart
from center_api.core.logging import configure_logging, get_logger
from center_api.core.metrics import Metrics
from center_api.core.settings import (
    CorsSettings,
    Settings,
    SettingsError,
    check_backends_installed,
    load_settings,
)
from center_api.db.config import build_db_config
from center_api.db.provider import DatabaseProvider
from center_api.http.error_handlers import exception_handlers
from center_api.http.middleware import RequestContextMiddleware
from center_api.http.observer import UsageObserver
from center_api.http.routes import api_router, metrics
from center_api.kernel.kernel import InferenceKernel
from center_api.kernel.model_store import ModelStore
from center_api.kernel.provider import KernelProvider
from center_api.registry.loader import EntryPointSource, SliceRegistry, discover_slices
from center_api.tasks import router as task_routes
from center_api.tasks.provider import TaskProvider
from center_api.tasks.service import TaskService
from center_api.usage.recorder import UsageRecorder

logger = get_logger("center_api.app")


@dataclass(frozen=True)
class Runtime:
    """The process-wide pieces the container is built from."""

    settings: Settings
    metrics: Metrics
    store: ModelStore
    registry: SliceRegistry
    db_config: SQLAlchemyAsyncConfig
    usage: UsageRecorder


def build_runtime(settings: Settings, entry_points: EntryPointSource | None = None) -> Runtime:
    """Read the manifest, discover slices, configure the database (all cheap).

    Raises:
        SettingsError: A configured backend's packages are not installed.
    """
    check_backends_installed(settings)
    store = ModelStore.from_directory(Path(settings.models.dir))
    db_config = build_db_config(settings.database)
    return Runtime(
        settings=settings,
        metrics=Metrics(),
        store=store,
        registry=discover_slices(settings, store, entry_points),
        db_config=db_config,
        usage=UsageRecorder(db_config, settings.usage),
    )


def build_container(runtime: Runtime, extra_providers: Sequence[Provider] = ()) -> AsyncContainer:
    """The dishka container: core, kernel, every mounted slice, then ``extra_providers``."""
    return make_async_container(
        CoreProvider(),
        DatabaseProvider(),
        KernelProvider(),
        TaskProvider(),
        LitestarProvider(),
        *[p for s in runtime.registry.mounted() for p in s.providers()],
        *extra_providers,
        context={
            Settings: runtime.settings,
            Metrics: runtime.metrics,
            SliceRegistry: runtime.registry,
            ModelStore: runtime.store,
            SQLAlchemyAsyncConfig: runtime.db_config,
            UsageRecorder: runtime.usage,
        },
        validation_settings=STRICT_VALIDATION,
    )


def create_app(
    settings: Settings | None = None,
    *,
    extra_providers: Sequence[Provider] = (),
    entry_points: EntryPointSource | None = None,
) -> Litestar:
    """Build the Litestar app.

    Args:
        settings: Settings to use; read from ``litestar.toml`` and the environment if None.
        extra_providers: dishka providers added last (tests pass ``override=True`` ones).
        entry_points: Slice entry-point source (tests pass fakes); installed metadata if None.
    """
    settings = settings or load_settings()
    configure_logging(settings.logging)
    keep_large_blocks_apart()
    runtime = build_runtime(settings, entry_points)
    container = build_container(runtime, extra_providers)
    limiter = RateLimiter(build_rate_limit_store(settings.queue.url, settings.queue.name))
    gate = SecurityGate(settings, ApiKeyStore(runtime.db_config), limiter)
    app = Litestar(
        route_handlers=[
            api_router(runtime.registry, [task_routes.stats, task_routes.build_router()]),
            metrics,
        ],
        guards=[gate.guard],
        exception_handlers=exception_handlers(),
        openapi_config=_openapi_config(),
        plugins=[SQLAlchemyPlugin(config=runtime.db_config)],
        on_startup=[partial(_start, container, runtime)],
        # Tasks, then usage (its final flush needs the database). Litestar runs these hooks
        # after the SQLAlchemy plugin has disposed of the engine, so the connections they
        # opened meanwhile are closed last, explicitly.
        on_shutdown=[
            partial(_stop_tasks, container),
            limiter.store.close,
            runtime.usage.close,
            container.close,
            partial(_dispose_engine, runtime.db_config),
        ],
        request_max_body_size=settings.server.max_request_bytes,
        cors_config=_cors_config(settings.cors),
        logging_config=None,
        debug=settings.server.debug,
    )
    setup_dishka(container, app)
    usage_observer = UsageObserver(runtime.usage)
    app.asgi_handler = RequestContextMiddleware(
        SecurityHeaders(app.asgi_handler), runtime.metrics, observers=[usage_observer]
    )
    return app


def _cors_config(cors: CorsSettings) -> CORSConfig | None:
    """Litestar's CORS from ``[cors]``; None (no CORS headers at all) unless enabled."""
    if not cors.enabled:
        return None
    return CORSConfig(
        allow_origins=cors.allow_origins,
        allow_methods=cors.allow_methods,  # type: ignore[arg-type]
        allow_headers=cors.allow_headers,
        allow_credentials=cors.allow_credentials,
        expose_headers=[
            "X-Request-ID",
            "Retry-After",
            "X-RateLimit-Limit",
            "X-RateLimit-Remaining",
            "X-RateLimit-Reset",
        ],
        max_age=cors.max_age,
    )


async def _dispose_engine(db_config: SQLAlchemyAsyncConfig) -> None:
    await db_config.get_engine().dispose()


async def _stop_tasks(container: AsyncContainer) -> None:
    await (await container.get(TaskService)).stop()


def _openapi_config() -> OpenAPIConfig:
    return OpenAPIConfig(
        title="Center API",
        version=__version__,
        description="Self-hosted image processing: background removal and more.",
        # The documentation is public, like the routes it describes are discoverable.
        openapi_router=Router(
            path="/schema", route_handlers=[], include_in_schema=False, opt=PUBLIC
        ),
        render_plugins=[ScalarRenderPlugin(), SwaggerRenderPlugin(path="/swagger")],
    )


async def _start(container: AsyncContainer, runtime: Runtime) -> None:
    registry, settings = runtime.registry, runtime.settings
    runtime.usage.start()
    warn_if_exposed(settings)
    kernel = await container.get(InferenceKernel)
    for entry in registry.entries:
        status, reason = entry.status(kernel.store)
        logger.info("slice.status", slice=entry.name, status=status, reason=reason)
    await (await container.get(TaskService)).start()
    if settings.inference.warm_up:
        await kernel.warm_up([m.id for s in registry.mounted() for m in s.models])
    logger.info(
        "app.started",
        version=__version__,
        slots=settings.inference.max_concurrent,
        queue_max_size=settings.inference.queue_max_size,
        intra_op_threads=kernel.sessions.threads,
    )


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
