"""Task rows: reads, and state changes guarded in the database (safe across processes)."""

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from advanced_alchemy.extensions.litestar import SQLAlchemyAsyncConfig
from sqlalchemy import ColumnElement, Executable, func, or_, select, update

from center_api.auth.key_store import is_key_owner
from center_api.auth.quotas import release_statement
from center_api.core.errors import TaskNotFoundError, ValidationError
from center_api.db.models import ProcessingTask
from center_api.http.paging import MAX_LIMIT, MAX_OFFSET
from center_api.tasks.domain import ALLOWED_FROM, RUNNING, TaskStatus


def parse_task_id(task_id: str) -> UUID:
    """The UUID of ``task_id``, or a 404 for anything that is not one."""
    try:
        return UUID(str(task_id))
    except ValueError:
        raise _not_found(task_id) from None


def canonical_task_id(task_id: str) -> str:
    """The one spelling of a task id (lower-case, dashed) for any form `UUID` accepts.

    Raises:
        TaskNotFoundError: not a UUID at all.
    """
    return str(parse_task_id(task_id))


def _not_found(task_id: str) -> TaskNotFoundError:
    shown = task_id[:64]  # an id is 36 characters; never echo a megabyte back
    return TaskNotFoundError(f"No task {shown!r}.", details={"task_id": shown})


def quota_refund(task: ProcessingTask) -> list[Executable]:
    """What gives a failed or cancelled task's reservation back to its owner's key.

    Each runnable row (a single task, a batch child) holds one call and its image's
    megapixels; a batch parent and an anonymous owner hold nothing.
    """
    if task.input_ref is None or not is_key_owner(task.caller):
        return []
    return [release_statement(task.caller, calls=1, megapixels=task.reserved_megapixels)]


class TaskStore:
    """One short session per operation; every state change is a conditional UPDATE."""

    def __init__(self, db: SQLAlchemyAsyncConfig) -> None:
        self._db = db

    async def add(self, tasks: Sequence[ProcessingTask]) -> None:
        """Insert new rows in one transaction."""
        async with self._db.get_session() as session:
            session.add_all(tasks)
            await session.commit()

    async def get(self, task_id: str, owner: str | None = None) -> ProcessingTask:
        """The row; with ``owner``, only if that owner's (else the same 404 as a missing one).

        Raises:
            TaskNotFoundError: no such task, or not ``owner``'s.
        """
        async with self._db.get_session() as session:
            task = await session.get(ProcessingTask, parse_task_id(task_id))
        if task is None or (owner is not None and task.caller != owner):
            raise _not_found(task_id)
        return task

    async def find(
        self, filters: dict[str, Any], limit: int, offset: int, owner: str | None = None
    ) -> tuple[list[ProcessingTask], int]:
        """Rows matching equality ``filters`` (and ``owner``), newest first, with the total."""
        if owner is not None:
            filters = {**filters, "caller": owner}
        conditions = [getattr(ProcessingTask, name) == value for name, value in filters.items()]
        async with self._db.get_session() as session:
            total = await session.scalar(
                select(func.count()).select_from(ProcessingTask).where(*conditions)
            )
            rows = await session.scalars(
                select(ProcessingTask)
                .where(*conditions)
                .order_by(ProcessingTask.created_at.desc(), ProcessingTask.id.desc())
                .limit(limit)
                .offset(offset)
            )
            return list(rows), int(total or 0)

    async def transition(  # noqa: PLR0913 - each keyword is one guard of the UPDATE
        self,
        task_id: str,
        target: TaskStatus,
        *,
        attempt: int | None = None,
        stale_before: datetime | None = None,
        also: Sequence[Executable] = (),
        only_from: Iterable[TaskStatus] | None = None,
        **changes: Any,
    ) -> bool:
        """Move to ``target`` only if the row is in a state allowed to; True if it moved.

        ``also`` runs in the same transaction, only if the row moved (a quota refund).

        ``attempt`` fences a worker to its own run: the row moves only while its ``attempts``
        is still that number (a worker wrongly taken for dead cannot finish a newer run).
        ``stale_before`` moves it only if its last heartbeat is older (two processes recovering
        the same dead worker's task: one wins). ``only_from`` narrows the states it may leave
        (a claim takes PENDING rows only, not a PAUSING one a resume could also move).
        """
        sources = ALLOWED_FROM[target] if only_from is None else set(only_from)
        allowed = [s.value for s in sources if s in ALLOWED_FROM[target]]
        conditions = [
            ProcessingTask.id == parse_task_id(task_id),
            ProcessingTask.status.in_(allowed),
        ]
        if attempt is not None:
            conditions.append(ProcessingTask.attempts == attempt)
        if stale_before is not None:
            conditions.append(_is_stale(stale_before))
        statement = (
            update(ProcessingTask)
            .where(*conditions)
            .values(status=target.value, updated_at=func.now(), **changes)
        )
        async with self._db.get_session() as session:
            result = await session.execute(statement)
            moved = bool(getattr(result, "rowcount", 0) == 1)
            for extra in also if moved else ():
                await session.execute(extra)
            await session.commit()
        return moved

    async def set_fields(self, task_id: str, **changes: Any) -> None:
        """Unconditional update of non-status fields (progress, refs)."""
        statement = (
            update(ProcessingTask)
            .where(ProcessingTask.id == parse_task_id(task_id))
            .values(updated_at=func.now(), **changes)
        )
        async with self._db.get_session() as session:
            await session.execute(statement)
            await session.commit()

    async def touch(self, task_id: str, attempt: int) -> None:
        """Record that the worker running ``attempt`` of ``task_id`` is alive."""
        statement = (
            update(ProcessingTask)
            .where(
                ProcessingTask.id == parse_task_id(task_id),
                ProcessingTask.status.in_([s.value for s in RUNNING]),
                ProcessingTask.attempts == attempt,
            )
            .values(heartbeat_at=datetime.now(UTC))
        )
        async with self._db.get_session() as session:
            await session.execute(statement)
            await session.commit()

    async def ids_with_status(
        self, statuses: Iterable[TaskStatus], *, stale_before: datetime | None = None
    ) -> list[ProcessingTask]:
        """Runnable rows (no batch parents) in ``statuses``, by priority then age.

        ``stale_before`` leaves out running rows whose last heartbeat is newer (their
        workers are alive); other statuses are unaffected.
        """
        conditions: list[ColumnElement[bool]] = [
            ProcessingTask.status.in_([s.value for s in statuses]),
            ProcessingTask.input_ref.is_not(None),
        ]
        if stale_before is not None:
            running = ProcessingTask.status.in_([s.value for s in RUNNING])
            conditions.append(or_(~running, _is_stale(stale_before)))
        async with self._db.get_session() as session:
            rows = await session.scalars(
                select(ProcessingTask)
                .where(*conditions)
                .order_by(ProcessingTask.priority.desc(), ProcessingTask.created_at)
            )
            return list(rows)

    async def children(self, parent_id: str) -> list[ProcessingTask]:
        """The children of a batch, oldest first."""
        async with self._db.get_session() as session:
            rows = await session.scalars(
                select(ProcessingTask)
                .where(ProcessingTask.parent_id == parse_task_id(parent_id))
                .order_by(ProcessingTask.created_at, ProcessingTask.id)
            )
            return list(rows)

    async def count_runnable(self) -> dict[str, int]:
        """How many runnable rows (no batch parents: they do no work) are in each status."""
        statement = (
            select(ProcessingTask.status, func.count())
            .where(ProcessingTask.input_ref.is_not(None))
            .group_by(ProcessingTask.status)
        )
        async with self._db.get_session() as session:
            rows = await session.execute(statement)
            return {status: int(count) for status, count in rows.all()}

    async def count_by_status(self, owner: str | None = None) -> dict[str, int]:
        """How many rows (of ``owner``, if given) are in each status."""
        statement = select(ProcessingTask.status, func.count()).group_by(ProcessingTask.status)
        if owner is not None:
            statement = statement.where(ProcessingTask.caller == owner)
        async with self._db.get_session() as session:
            rows = await session.execute(statement)
            return {status: int(count) for status, count in rows.all()}


def _is_stale(stale_before: datetime) -> ColumnElement[bool]:
    """The row's last sign of life (heartbeat, else start) is older than ``stale_before``."""
    last_sign = func.coalesce(ProcessingTask.heartbeat_at, ProcessingTask.started_at)
    return or_(last_sign.is_(None), last_sign < stale_before)


def validate_page(limit: int, offset: int) -> None:
    """Reject nonsense paging before it reaches the database."""
    if not (1 <= limit <= MAX_LIMIT and 0 <= offset <= MAX_OFFSET):
        raise ValidationError(f"limit must be 1..{MAX_LIMIT} and offset 0..{MAX_OFFSET}.")
