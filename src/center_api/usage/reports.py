"""Usage reports: listing the recorded calls and aggregating them per tool (admin views).

No Litestar imports: the tools slice serves these (``GET /api/v1/tools/usage``, ``/stats``).
"""

from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Literal
from uuid import UUID

import msgspec
import numpy as np
from advanced_alchemy.filters import (
    BeforeAfter,
    CollectionFilter,
    LimitOffset,
    OrderBy,
    StatementFilter,
)
from msgspec import Meta, Struct
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from center_api.core.errors import ValidationError
from center_api.db.models import ToolUsage
from center_api.usage.ratings import RatingService, RatingStats
from center_api.usage.repository import ToolUsageRepository

Outcome = Literal["success", "client_error", "server_error"]


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


class Spread(Struct, kw_only=True):
    """Mean, median, 95th percentile, smallest and largest of a set of values."""

    mean: float
    p50: float
    p95: float
    min: float
    max: float


class ToolStats(Struct, kw_only=True):
    """Aggregates of one tool over the range (durations in ms, image sizes in megapixels)."""

    tool: str
    count: int
    success: int
    errors: int
    client_errors: int
    server_errors: int
    success_rate: float
    p50_ms: float | None
    p95_ms: float | None
    duration_ms: Spread
    # Per call with a known input size (None when no call of the range had one).
    megapixels_per_call: Spread | None
    megapixels: float
    per_day: list[DayStats]
    # Ratings of the tool's results in the range: how many, and their mean score.
    ratings: int = 0
    rating_mean: float | None = None


class StatsReport(Struct, kw_only=True):
    """Per-tool aggregates for [since, until); ``sampled``: only the newest calls counted."""

    since: datetime
    until: datetime
    tools: list[ToolStats]
    ratings: list[RatingStats] = msgspec.field(default_factory=list)
    sampled: bool = False


DEFAULT_STATS_DAYS = 30
MAX_STATS_DAYS = 366
# Percentiles are computed here, over at most this many of the range's newest calls (the same
# on SQLite and PostgreSQL, and bounded in memory).
MAX_STATS_ROWS = 200_000


class UsageService:
    """Reads the usage records."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session
        self._repository = ToolUsageRepository(session=session)

    async def list_usage(self, query: UsageQuery) -> UsagePage:
        """A page of usage rows, newest first, matching ``query``'s filters."""
        filters: list[StatementFilter] = [
            CollectionFilter(field_name=name, values=[value])
            for name, value in (
                ("tool", query.tool),
                ("outcome", query.outcome),
                ("caller", query.caller),
            )
            if value is not None
        ]
        if query.since or query.until:
            since = query.since - timedelta(microseconds=1) if query.since else None
            filters.append(BeforeAfter(field_name="created_at", before=query.until, after=since))
        filters += [
            OrderBy(field_name="created_at", sort_order="desc"),
            LimitOffset(limit=query.limit, offset=query.offset),
        ]
        rows, total = await self._repository.get_many_and_count(*filters)
        return UsagePage(
            items=[_row(r) for r in rows], total=total, limit=query.limit, offset=query.offset
        )

    async def stats(
        self, since: datetime | None, until: datetime | None, tool: str | None = None
    ) -> StatsReport:
        """Per tool: count, errors, duration and size spread, ratings, a per-day series.

        Over [since, until) (default: the last 30 days); ratings per tool and model too.

        Raises:
            ValidationError: an empty or over-long range.
        """
        until = until or datetime.now(UTC)
        since = since or until - timedelta(days=DEFAULT_STATS_DAYS)
        if since >= until or until - since > timedelta(days=MAX_STATS_DAYS):
            raise ValidationError(
                f"The range must be non-empty and at most {MAX_STATS_DAYS} days.",
                details={"since": since.isoformat(), "until": until.isoformat()},
            )
        statement = select(
            ToolUsage.tool,
            ToolUsage.outcome,
            ToolUsage.duration_ms,
            ToolUsage.megapixels,
            ToolUsage.created_at,
        ).where(ToolUsage.created_at >= since, ToolUsage.created_at < until)
        if tool is not None:
            statement = statement.where(ToolUsage.tool == tool)
        statement = statement.order_by(ToolUsage.created_at.desc()).limit(MAX_STATS_ROWS + 1)
        rows = (await self._session.execute(statement)).all()
        sampled = len(rows) > MAX_STATS_ROWS
        grouped: dict[str, list[tuple[str, float, float | None, datetime]]] = defaultdict(list)
        for name, outcome, duration, megapixels, created in rows[:MAX_STATS_ROWS]:
            grouped[name].append((outcome, duration, megapixels, created))
        ratings = await RatingService(self._session).stats(since, until)
        if tool is not None:
            ratings = [r for r in ratings if r.tool == tool]
        tools = [_tool_stats(name, calls) for name, calls in sorted(grouped.items())]
        for stats in tools:
            rated = [r for r in ratings if r.tool == stats.tool]
            stats.ratings = sum(r.count for r in rated)
            if stats.ratings:
                total = sum(r.mean * r.count for r in rated)
                stats.rating_mean = round(total / stats.ratings, 3)
        return StatsReport(since=since, until=until, tools=tools, ratings=ratings, sampled=sampled)


def _tool_stats(name: str, calls: list[tuple[str, float, float | None, datetime]]) -> ToolStats:
    outcomes = [c[0] for c in calls]
    durations = np.array([c[1] for c in calls], dtype=np.float64)
    days: dict[date, list[int]] = defaultdict(lambda: [0, 0])
    for outcome, _, _, created in calls:
        day = days[created.astimezone(UTC).date()]
        day[0] += 1
        day[1] += outcome == "success"
    success = outcomes.count("success")
    duration = _spread(durations)
    sizes = np.array([c[2] for c in calls if c[2] is not None], dtype=np.float64)
    return ToolStats(
        tool=name,
        count=len(calls),
        success=success,
        errors=len(calls) - success,
        client_errors=outcomes.count("client_error"),
        server_errors=outcomes.count("server_error"),
        success_rate=round(success / len(calls), 4),
        p50_ms=duration.p50,
        p95_ms=duration.p95,
        duration_ms=duration,
        megapixels_per_call=_spread(sizes, digits=4) if sizes.size else None,
        megapixels=round(sum(c[2] or 0.0 for c in calls), 4),
        per_day=[DayStats(day=d, count=v[0], success=v[1]) for d, v in sorted(days.items())],
    )


def _spread(values: np.ndarray, digits: int = 2) -> Spread:
    """The spread of a non-empty array."""
    p50, p95 = np.percentile(values, [50, 95])
    return Spread(
        mean=round(float(values.mean()), digits),
        p50=round(float(p50), digits),
        p95=round(float(p95), digits),
        min=round(float(values.min()), digits),
        max=round(float(values.max()), digits),
    )


def _row(usage: ToolUsage) -> UsageRow:
    return UsageRow(
        id=usage.id,
        tool=usage.tool,
        caller=usage.caller,
        outcome=usage.outcome,
        status_code=usage.status_code,
        error_code=usage.error_code,
        duration_ms=usage.duration_ms,
        megapixels=usage.megapixels,
        input_bytes=usage.input_bytes,
        output_bytes=usage.output_bytes,
        request_id=usage.request_id,
        task_id=usage.task_id,
        created_at=usage.created_at,
    )
