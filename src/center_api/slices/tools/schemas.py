"""Schemas of the tools slice: catalog entries, usage rows, statistics."""

from datetime import date, datetime
from typing import Annotated, Literal
from uuid import UUID

from msgspec import Meta, Struct

Outcome = Literal["success", "client_error", "server_error"]


class ToolsOptions(Struct, forbid_unknown_fields=True):
    """The tools slice takes no image options."""


class CapabilitiesInfo(Struct, kw_only=True):
    """What a slice takes and gives."""

    produces: list[str]
    accepts_image: bool
    supports_tasks: bool


class ModelInfo(Struct, kw_only=True):
    """A model a slice uses, with its install state and licence."""

    id: str
    required: bool
    state: Literal["installed", "missing", "corrupt", "unknown"]
    size: int | None
    license: str | None
    commercial_use: bool | None


class RouteInfo(Struct, kw_only=True):
    """One HTTP route of a slice."""

    path: str
    methods: list[str]


class ToolInfo(Struct, kw_only=True):
    """One installed slice, enabled or not."""

    name: str
    title: str | None
    description: str | None
    version: str | None
    distribution: str | None
    is_builtin: bool
    status: Literal["enabled", "disabled", "failed"]
    reason: str | None
    capabilities: CapabilitiesInfo | None
    routes: list[RouteInfo]
    models: list[ModelInfo]


class ToolList(Struct, kw_only=True):
    """The catalog."""

    tools: list[ToolInfo]


class UsageQuery(Struct, kw_only=True, forbid_unknown_fields=True):
    """Filters and page of a usage listing."""

    tool: str | None = None
    outcome: Outcome | None = None
    caller: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    limit: Annotated[int, Meta(ge=1, le=500)] = 50
    offset: Annotated[int, Meta(ge=0)] = 0


class UsageRow(Struct, kw_only=True):
    """One recorded call."""

    id: UUID
    tool: str
    caller: str
    outcome: str
    status_code: int
    error_code: str | None
    duration_ms: float
    megapixels: float | None
    input_bytes: int | None
    output_bytes: int | None
    request_id: str | None
    task_id: str | None
    created_at: datetime


class UsagePage(Struct, kw_only=True):
    """A page of usage rows and the total matching the filters."""

    items: list[UsageRow]
    total: int
    limit: int
    offset: int


class DayStats(Struct, kw_only=True):
    """Calls of one tool on one UTC day."""

    day: date
    count: int
    success: int


class ToolStats(Struct, kw_only=True):
    """Aggregates of one tool over the range."""

    tool: str
    count: int
    success: int
    client_errors: int
    server_errors: int
    success_rate: float
    p50_ms: float | None
    p95_ms: float | None
    megapixels: float
    per_day: list[DayStats]


class StatsReport(Struct, kw_only=True):
    """Per-tool aggregates for [since, until)."""

    since: datetime
    until: datetime
    tools: list[ToolStats]
