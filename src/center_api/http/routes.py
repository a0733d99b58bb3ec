"""The route table: health, metrics, every mounted slice's router, and the switched-off ones."""

from collections.abc import Sequence
from typing import Any

from dishka.integrations.litestar import FromDishka, inject
from litestar import Request, Response, Router, get
from litestar.types import ControllerRouterHandler

from center_api.auth.access import ACCESS, PUBLIC, RATE_LIMITED, TOOL
from center_api.auth.keys import principal_of
from center_api.core.metrics import Metrics
from center_api.core.settings import API_PREFIX
from center_api.http.health import HealthService
from center_api.registry.loader import SliceRegistry
from center_api.registry.spec import Slice
from center_api.registry.toggles import disabled_router


@get("/health", summary="Liveness and readiness", tags=["system"], opt=PUBLIC)
@inject
async def health(
    request: Request[Any, Any, Any], service: FromDishka[HealthService]
) -> Response[dict[str, Any]]:
    """200 when ready to serve; 503 (same body) when a check fails.

    Anyone gets the status and version; admins (everyone in open mode) also the checks.
    """
    principal = principal_of(request.scope)
    report = await service.report(details=principal is not None and principal.is_admin)
    return Response(report, status_code=200 if report["ready"] else 503)


# Liveness touches nothing but the event loop: never rate-limited, so probes always get through.
@get(
    "/health/live",
    summary="Liveness only",
    tags=["system"],
    opt={**PUBLIC, RATE_LIMITED: False},
)
async def live() -> dict[str, bool]:
    """Always 200 while the process serves HTTP."""
    return {"live": True}


@get(["/metrics", f"{API_PREFIX}/metrics"], include_in_schema=False, opt={ACCESS: "metrics"})
@inject
async def metrics(registry: FromDishka[Metrics]) -> Response[bytes]:
    """Prometheus text exposition (at /metrics and, as the design lists it, /api/v1/metrics)."""
    return Response(registry.render(), media_type=registry.content_type)


def api_router(registry: SliceRegistry, extra: Sequence[ControllerRouterHandler] = ()) -> Router:
    """Every route under `API_PREFIX`: health, ``extra`` (the task routes), then the slices.

    A mounted slice gets its own router; a switched-off one a router whose every route answers
    FEATURE_DISABLED.
    """
    handlers: list[ControllerRouterHandler] = [health, live, *extra]
    handlers += [slice_router(s) for s in registry.mounted()]
    handlers += [disabled_router(s.name, s.path) for s in registry.switched_off()]
    return Router(path=API_PREFIX, route_handlers=handlers)


def slice_router(spec: Slice) -> Router:
    """The slice's own router; an image slice's routes are marked with its name (billing, usage)."""
    opt = {TOOL: spec.name} if spec.capabilities.accepts_image else {}
    return Router(path="/", route_handlers=[spec.build_router()], opt=opt)
