"""Rating routes: a task's result, a synchronous call's answer; statistics and low ratings.

``POST /api/v1/tasks/{id}/rating`` and ``POST /api/v1/feedback`` (by ``request_id``) take
``{"score": 1..5, "comment": "..."}``; rating the same result again changes the rating.
``GET /api/v1/ratings/stats`` gives count and mean per tool and model (a user: their own
ratings); ``GET /api/v1/ratings?max_score=2`` lists low-rated results (admins).
"""

from datetime import datetime
from typing import Annotated

from dishka.integrations.litestar import FromDishka, inject
from litestar import get, post
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter
from sqlalchemy.ext.asyncio import AsyncSession

from center_api.auth.access import ADMIN_ONLY
from center_api.auth.keys import Principal
from center_api.core.errors import BusinessRuleViolationError, ResourceNotFoundError
from center_api.http.paging import MAX_OFFSET
from center_api.tasks.domain import TaskStatus
from center_api.tasks.service import TaskService
from center_api.tasks.store import canonical_task_id
from center_api.usage.ratings import (
    FeedbackInput,
    Rated,
    RatingInput,
    RatingPage,
    RatingService,
    RatingStats,
    RatingView,
)
from center_api.usage.recorder import UsageRecorder


@post("/tasks/{task_id:str}/rating", summary="Rate a task's result", status_code=200)
@inject
async def rate_task(
    task_id: FromPath[str],
    data: JSONBody[RatingInput],
    service: FromDishka[TaskService],
    session: FromDishka[AsyncSession],
    caller: FromDishka[Principal],
) -> RatingView:
    """Score 1-5 and a comment for a COMPLETED task of the caller's (again: changes it)."""
    task_id = canonical_task_id(task_id)
    task = await service.store.get(task_id, caller.sees_only)
    if task.status != TaskStatus.COMPLETED:
        raise BusinessRuleViolationError(
            f"Task {task_id} is {task.status}; only a COMPLETED task's result can be rated.",
            details={"task_id": task_id, "status": task.status},
        )
    ratings = RatingService(session)
    model = await ratings.model_of_task(task_id) or _option_model(task.options)
    rated = Rated(subject=f"task:{task_id}", tool=task.tool, model=model, task_id=task_id)
    return await ratings.rate(caller.owner, rated, data)


@post(
    "/feedback", summary="Rate a synchronous call's answer (by its X-Request-ID)", status_code=200
)
@inject
async def feedback(
    data: JSONBody[FeedbackInput],
    session: FromDishka[AsyncSession],
    recorder: FromDishka[UsageRecorder],
    caller: FromDishka[Principal],
) -> RatingView:
    """Score 1-5 and a comment for a successful call of the caller's, named by its request id."""
    ratings = RatingService(session)
    call = await ratings.call_of(data.request_id, caller.sees_only)
    if call is None:  # written in batches: it may still be on its way
        await recorder.flush()
        call = await ratings.call_of(data.request_id, caller.sees_only)
    if call is None:
        raise ResourceNotFoundError(
            f"No call of yours with request id {data.request_id[:128]!r}.",
            details={"request_id": data.request_id[:128]},
        )
    if call.outcome != "success":
        raise BusinessRuleViolationError(
            "That call failed; only an answer with a result can be rated.",
            details={"request_id": data.request_id, "status_code": call.status_code},
        )
    rated = Rated(
        subject=f"request:{data.request_id}",
        tool=call.tool,
        model=call.model,
        request_id=data.request_id,
    )
    rating = RatingInput(score=data.score, comment=data.comment)
    return await ratings.rate(caller.owner, rated, rating)


@get("/ratings/stats", summary="Ratings per tool and model")
@inject
async def rating_stats(
    session: FromDishka[AsyncSession],
    caller: FromDishka[Principal],
    since: FromQuery[datetime | None] = None,
) -> list[RatingStats]:
    """Count and mean score per tool and model since ``since`` (a user: their own ratings)."""
    return await RatingService(session).stats(since, owner=caller.sees_only)


@get("/ratings", summary="Low-rated results (admin)", opt=ADMIN_ONLY)
@inject
async def low_ratings(  # noqa: PLR0913, PLR0917 - one argument per query parameter
    session: FromDishka[AsyncSession],
    max_score: Annotated[int, QueryParameter(ge=1, le=5)] = 2,
    since: FromQuery[datetime | None] = None,
    tool: FromQuery[str | None] = None,
    limit: Annotated[int, QueryParameter(ge=1, le=500)] = 50,
    offset: Annotated[int, QueryParameter(ge=0, le=MAX_OFFSET)] = 0,
) -> RatingPage:
    """Ratings of at most ``max_score`` (default 2), worst first, with their tool and model."""
    return await RatingService(session).low(max_score, since, tool, limit, offset)


def _option_model(options: dict[str, object]) -> str | None:
    model = options.get("model") if isinstance(options, dict) else None
    return str(model)[:128] if model else None


ROUTES = [rate_task, feedback, rating_stats, low_ratings]
