"""Routes of the core: health and Prometheus metrics."""

from typing import Any

from dishka.integrations.litestar import FromDishka, inject
from litestar import Request, Response, get

from center_api.core.health import HealthService
from center_api.core.metrics import Metrics
from center_api.core.security import principal_of
from center_api.core.security_gate import ACCESS, PUBLIC, RATE_LIMITED


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


@get("/metrics", include_in_schema=False, opt={ACCESS: "metrics"})
@inject
async def metrics(registry: FromDishka[Metrics]) -> Response[bytes]:
    """Prometheus text exposition."""
    return Response(registry.render(), media_type=registry.content_type)
