"""Ratings of results (the design's ``set_rating``): one per owner and result, changeable.

A result is a task (``task:<id>``) or a synchronous call (``request:<X-Request-ID>``); the
rating keeps the tool and the model that made it, so statistics can say which model people
like. No Litestar imports: the task routes serve these.
"""

from datetime import datetime
from typing import Annotated

from msgspec import Meta, Struct
from sqlalchemy import ColumnElement, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from center_api.db.models import ResultRating, ToolUsage

Score = Annotated[int, Meta(ge=1, le=5, description="1 (bad) .. 5 (excellent)")]
Comment = Annotated[str, Meta(max_length=2000)]


class RatingInput(Struct, kw_only=True, forbid_unknown_fields=True):
    """A score 1-5 and an optional comment."""

    score: Score
    comment: Comment | None = None


class FeedbackInput(RatingInput, kw_only=True, forbid_unknown_fields=True):
    """A rating of a synchronous call, named by the X-Request-ID its answer carried."""

    request_id: Annotated[str, Meta(min_length=1, max_length=128)]


class RatingView(Struct, kw_only=True):
    """A stored rating; ``created`` is false when this call changed an earlier one."""

    id: str
    owner: str
    task_id: str | None
    request_id: str | None
    tool: str
    model: str | None
    score: int
    comment: str | None
    created_at: datetime
    updated_at: datetime
    created: bool = False


class RatingStats(Struct, kw_only=True):
    """How one tool and model were rated."""

    tool: str
    model: str | None
    count: int
    mean: float


class RatingPage(Struct, kw_only=True):
    """A page of ratings and the total matching the filters."""

    items: list[RatingView]
    total: int
    limit: int
    offset: int


class Rated(Struct, kw_only=True, frozen=True):
    """What is being rated: the subject key, its task or request, tool and model."""

    subject: str
    tool: str
    model: str | None = None
    task_id: str | None = None
    request_id: str | None = None


class RatingService:
    """Writes and reads ratings in the request's session."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def rate(self, owner: str, rated: Rated, rating: RatingInput) -> RatingView:
        """Store ``owner``'s rating of ``rated``, replacing their earlier one if any."""
        for _ in range(2):  # two first ratings at once: the loser updates the winner's row
            row = await self._session.scalar(
                select(ResultRating).where(
                    ResultRating.owner == owner, ResultRating.subject == rated.subject
                )
            )
            created = row is None
            if row is None:
                row = ResultRating(owner=owner, subject=rated.subject, tool=rated.tool)
                self._session.add(row)
            row.task_id, row.request_id = rated.task_id, rated.request_id
            row.tool, row.model = rated.tool, rated.model
            row.score, row.comment = rating.score, rating.comment
            try:
                await self._session.commit()
            except IntegrityError:
                await self._session.rollback()
                continue
            await self._session.refresh(row)
            return _view(row, created=created)
        raise RuntimeError("rating kept colliding")  # pragma: no cover - needs a third writer

    async def call_of(self, request_id: str, owner: str | None) -> ToolUsage | None:
        """The usage row of the synchronous call ``request_id`` (of ``owner``, if given)."""
        statement = select(ToolUsage).where(
            ToolUsage.request_id == request_id, ToolUsage.task_id.is_(None)
        )
        if owner is not None:
            statement = statement.where(ToolUsage.caller == owner)
        return await self._session.scalar(statement.order_by(ToolUsage.created_at.desc()))

    async def model_of_task(self, task_id: str) -> str | None:
        """The model that made a task's result, as its successful usage row says."""
        return await self._session.scalar(
            select(ToolUsage.model)
            .where(ToolUsage.task_id == task_id, ToolUsage.outcome == "success")
            .order_by(ToolUsage.created_at.desc())
            .limit(1)
        )

    async def stats(
        self, since: datetime | None, until: datetime | None = None, owner: str | None = None
    ) -> list[RatingStats]:
        """Count and mean score per tool and model (of ``owner``'s ratings, if given)."""
        statement = (
            select(
                ResultRating.tool,
                ResultRating.model,
                func.count(),
                func.avg(ResultRating.score),
            )
            .where(*_window(since, until, owner))
            .group_by(ResultRating.tool, ResultRating.model)
            .order_by(ResultRating.tool, ResultRating.model)
        )
        rows = (await self._session.execute(statement)).all()
        return [
            RatingStats(tool=tool, model=model, count=int(count), mean=round(float(mean), 3))
            for tool, model, count, mean in rows
        ]

    async def low(
        self,
        max_score: int,
        since: datetime | None,
        tool: str | None,
        limit: int,
        offset: int,
    ) -> RatingPage:
        """Ratings of at most ``max_score``, worst then newest first (admins review these)."""
        conditions = [ResultRating.score <= max_score, *_window(since, None, None)]
        if tool is not None:
            conditions.append(ResultRating.tool == tool)
        total = await self._session.scalar(
            select(func.count()).select_from(ResultRating).where(*conditions)
        )
        rows = await self._session.scalars(
            select(ResultRating)
            .where(*conditions)
            .order_by(ResultRating.score, ResultRating.updated_at.desc(), ResultRating.id)
            .limit(limit)
            .offset(offset)
        )
        return RatingPage(
            items=[_view(r) for r in rows], total=int(total or 0), limit=limit, offset=offset
        )


def _window(
    since: datetime | None, until: datetime | None, owner: str | None
) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    if since is not None:
        conditions.append(ResultRating.updated_at >= since)
    if until is not None:
        conditions.append(ResultRating.updated_at < until)
    if owner is not None:
        conditions.append(ResultRating.owner == owner)
    return conditions


def _view(row: ResultRating, *, created: bool = False) -> RatingView:
    return RatingView(
        id=str(row.id),
        owner=row.owner,
        task_id=row.task_id,
        request_id=row.request_id,
        tool=row.tool,
        model=row.model,
        score=row.score,
        comment=row.comment,
        created_at=row.created_at,
        updated_at=row.updated_at,
        created=created,
    )
