"""Routes of the core: health and Prometheus metrics."""

from typing import Any

from dishka.integrations.litestar import FromDishka, inject
from litestar import Response, get

from center_api.core.health import HealthService
from center_api.core.metrics import Metrics


@get("/health", summary="Liveness and readiness", tags=["system"])
@inject
async def health(service: FromDishka[HealthService]) -> Response[dict[str, Any]]:
    """200 when ready to serve; 503 (same body) when a check fails."""
    report = await service.report()
    return Response(report, status_code=200 if report["ready"] else 503)


@get("/health/live", summary="Liveness only", tags=["system"])
async def live() -> dict[str, bool]:
    """Always 200 while the process serves HTTP."""
    return {"live": True}


@get("/metrics", include_in_schema=False)
@inject
async def metrics(registry: FromDishka[Metrics]) -> Response[bytes]:
    """Prometheus text exposition."""
    return Response(registry.render(), media_type=registry.content_type)
