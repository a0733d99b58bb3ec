"""The composition root: ``create_app()`` wires settings, container, slices and the HTTP layer.

`runtime` builds the process-wide pieces and the container; this module adds HTTP: the route
table, the guard, the exception handlers, the outer ASGI layers, startup and shutdown.

Nothing heavy happens here (the Litestar CLI calls the factory for every command): models load
on first use, or at startup when ``inference.warm_up`` is on.
"""

from collections.abc import Sequence
from functools import partial

from advanced_alchemy.extensions.litestar import SQLAlchemyAsyncConfig, SQLAlchemyPlugin
from dishka import AsyncContainer, Provider
from dishka.integrations.litestar import setup_dishka
from litestar import Litestar, Router
from litestar.config.cors import CORSConfig
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import ScalarRenderPlugin, SwaggerRenderPlugin

from center_api import __version__, compat, web
from center_api.auth.access import PUBLIC
from center_api.auth.gate import SecurityGate, SecurityHeaders, warn_if_exposed
from center_api.auth.key_store import ApiKeyStore
from center_api.auth.rate_limit import RateLimiter, build_rate_limit_store
from center_api.bootstrap.runtime import Runtime, build_container, build_runtime
from center_api.core.heap import keep_large_blocks_apart
from center_api.core.logging import configure_logging, get_logger
from center_api.core.settings import CorsSettings, Settings, load_settings
from center_api.http.error_handlers import exception_handlers
from center_api.http.middleware import RequestContextMiddleware
from center_api.http.observer import UsageObserver
from center_api.http.routes import api_router, metrics
from center_api.kernel.kernel import InferenceKernel
from center_api.registry.loader import EntryPointSource
from center_api.tasks import router as task_routes
from center_api.tasks.service import TaskService

logger = get_logger("center_api.app")


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
            api_router(runtime.registry, task_routes.build_routes()),
            *compat.build_routers(),
            web.build_router(),
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
