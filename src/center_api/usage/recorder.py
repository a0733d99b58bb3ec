"""Usage records: buffered for sync calls, written in the same transaction for tasks.

A sync call's record is written in batches off the response path (a graceful shutdown flushes
all). A task's record is written by `usage_insert` in the transaction that ends the task's
attempt, so no crash between the two can lose it.
"""

import asyncio
import contextlib
from collections import deque
from dataclasses import asdict, dataclass

from advanced_alchemy.exceptions import RepositoryError
from advanced_alchemy.extensions.litestar import SQLAlchemyAsyncConfig
from sqlalchemy import Insert, insert
from sqlalchemy.exc import SQLAlchemyError

from center_api.core.logging import get_logger
from center_api.core.settings import UsageSettings
from center_api.db.models import ToolUsage
from center_api.usage.repository import ToolUsageRepository

logger = get_logger("center_api.usage")

FINAL_FLUSH_TRIES = 3


@dataclass(frozen=True)
class UsageRecord:
    """One slice call, as it will be stored."""

    tool: str
    caller: str
    outcome: str
    status_code: int
    duration_ms: float
    error_code: str | None = None
    megapixels: float | None = None
    input_bytes: int | None = None
    output_bytes: int | None = None
    request_id: str | None = None
    task_id: str | None = None
    # The model that answered (the X-Model of the response), where the tool names one.
    model: str | None = None


def _columns(record: UsageRecord) -> dict[str, object]:
    """The `ToolUsage` column values of ``record`` (the one place the row's shape is decided)."""
    return asdict(record)


def usage_insert(record: UsageRecord) -> Insert:
    """The INSERT of ``record``'s row, for a caller to run inside its own transaction."""
    return insert(ToolUsage).values(**_columns(record))


def outcome_of(status_code: int) -> str:
    """``success`` (< 400), ``client_error`` (4xx) or ``server_error`` (5xx)."""
    if status_code < 400:
        return "success"
    return "client_error" if status_code < 500 else "server_error"


class UsageRecorder:
    """A buffer of records and a background task that inserts them in batches."""

    def __init__(self, db: SQLAlchemyAsyncConfig, settings: UsageSettings) -> None:
        """Create an idle recorder; `start` begins the periodic flush."""
        self._db = db
        self._interval = settings.flush_interval_s
        self._max_buffered = settings.max_buffered
        self._buffer: deque[UsageRecord] = deque()
        self._task: asyncio.Task[None] | None = None
        self._lock: asyncio.Lock | None = None
        self._stopping = asyncio.Event()
        self.dropped = 0

    def record(self, record: UsageRecord) -> None:
        """Queue ``record`` (never blocks, never touches the database)."""
        if len(self._buffer) >= self._max_buffered:
            self._buffer.popleft()
            self.dropped += 1
            logger.error("usage.buffer_full", dropped=self.dropped)
        self._buffer.append(record)

    @property
    def pending(self) -> int:
        """Records not yet written."""
        return len(self._buffer)

    def start(self) -> None:
        """Begin flushing every interval (call inside the running loop)."""
        self._lock = asyncio.Lock()
        self._stopping = asyncio.Event()
        self._task = asyncio.get_running_loop().create_task(self._flush_forever())

    async def flush(self) -> int:
        """Write everything buffered now; on failure the records stay buffered."""
        lock = self._lock or asyncio.Lock()
        async with lock:
            batch = list(self._buffer)
            if not batch:
                return 0
            try:
                async with self._db.get_session() as session:
                    await ToolUsageRepository(session=session).add_many(
                        [ToolUsage(**_columns(r)) for r in batch], auto_commit=True
                    )
            except (SQLAlchemyError, RepositoryError, OSError) as exc:
                logger.warning("usage.flush_failed", records=len(batch), error=str(exc))
                return 0
            for _ in batch:
                self._buffer.popleft()
            return len(batch)

    async def close(self) -> None:
        """Stop the periodic flush and write what is left (retrying briefly)."""
        if self._task is not None:
            # Never cancel a flush mid-way: a batch committed but not yet taken off the
            # buffer would be written twice. Ask the loop to stop and let it finish.
            self._stopping.set()
            await self._task
            self._task = None
        for attempt in range(FINAL_FLUSH_TRIES):
            await self.flush()
            if not self._buffer:
                return
            await asyncio.sleep(0.2 * (attempt + 1))
        logger.error("usage.lost_on_shutdown", records=len(self._buffer))

    async def _flush_forever(self) -> None:
        while not self._stopping.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), timeout=self._interval)
            await self.flush()
