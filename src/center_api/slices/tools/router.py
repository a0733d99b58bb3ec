"""Tools HTTP routes: the catalog, usage records and statistics."""

from datetime import datetime
from typing import Annotated

from dishka.integrations.litestar import FromDishka, inject
from litestar import Request, Router, get
from litestar.params import FromPath, FromQuery, QueryParameter
from litestar.routes import HTTPRoute

from center_api.registry.catalog import ToolInfo, ToolList, build_catalog
from center_api.registry.loader import SliceRegistry
from center_api.sdk import ADMIN_ONLY, MAX_OFFSET, ModelStore, ResourceNotFoundError
from center_api.usage.reports import Outcome, StatsReport, UsagePage, UsageQuery, UsageService

_HIDDEN_METHODS = {"OPTIONS", "HEAD"}


def _routes(request: Request) -> dict[str, list[str]]:
    return {
        route.path: sorted(set(route.methods) - _HIDDEN_METHODS)
        for route in request.app.routes
        if isinstance(route, HTTPRoute)
    }


@get("/", summary="Catalog of installed slices")
@inject
async def list_tools(
    request: Request,
    registry: FromDishka[SliceRegistry],
    store: FromDishka[ModelStore],
) -> ToolList:
    """Every installed slice, enabled or not, with status, capabilities, routes and models."""
    return ToolList(tools=build_catalog(registry, store, _routes(request)))


@get("/usage", summary="Usage records (admin)", opt=ADMIN_ONLY)
@inject
async def list_usage(  # noqa: PLR0913, PLR0917 - one argument per query parameter
    service: FromDishka[UsageService],
    tool: FromQuery[str | None] = None,
    outcome: FromQuery[Outcome | None] = None,
    caller: FromQuery[str | None] = None,
    since: FromQuery[datetime | None] = None,
    until: FromQuery[datetime | None] = None,
    limit: Annotated[int, QueryParameter(ge=1, le=500)] = 50,
    offset: Annotated[int, QueryParameter(ge=0, le=MAX_OFFSET)] = 0,
) -> UsagePage:
    """Recorded slice calls, newest first, filtered and paginated."""
    query = UsageQuery(
        tool=tool,
        outcome=outcome,
        caller=caller,
        since=since,
        until=until,
        limit=limit,
        offset=offset,
    )
    return await service.list_usage(query)


@get("/stats", summary="Usage statistics per tool (admin)", opt=ADMIN_ONLY)
@inject
async def usage_stats(
    service: FromDishka[UsageService],
    since: FromQuery[datetime | None] = None,
    until: FromQuery[datetime | None] = None,
    tool: FromQuery[str | None] = None,
) -> StatsReport:
    """Count, success rate, p50/p95 duration and a per-day series per tool (default: 30 days)."""
    return await service.stats(since, until, tool)


@get("/{name:str}", summary="One slice of the catalog")
@inject
async def get_tool(
    name: FromPath[str],
    request: Request,
    registry: FromDishka[SliceRegistry],
    store: FromDishka[ModelStore],
) -> ToolInfo:
    """The catalog entry of slice ``name``."""
    for info in build_catalog(registry, store, _routes(request)):
        if info.name == name:
            return info
    raise ResourceNotFoundError(f"No slice named {name!r} is installed.", details={"name": name})


def build_router() -> Router:
    """A fresh router for one app."""
    return Router(
        path="/tools",
        route_handlers=[list_tools, list_usage, usage_stats, get_tool],
        tags=["tools"],
    )
