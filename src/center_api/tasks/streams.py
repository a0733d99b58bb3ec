"""The event streams this process serves (``GET /tasks/{id}/events``), and how they end.

A stream sends the task's current state, then every change, and ends at a terminal state. When
the server begins to stop, every open stream (and any opened later) ends at once with a
``shutdown`` event carrying the task's state at that moment, so no stream holds the server's
graceful shutdown open; a client reconnects to a live server to follow the task further.
"""

import asyncio
from collections.abc import AsyncIterator
from typing import Any, NamedTuple

from center_api.core.logging import get_logger
from center_api.tasks.domain import TERMINAL, TaskStatus
from center_api.tasks.events import TaskEvents
from center_api.tasks.store import TaskStore

logger = get_logger("center_api.tasks")
# A stream re-reads the row when nothing was heard for this long (an event lost on the way).
REREAD_S = 15.0
SHUTDOWN_MESSAGE = "The server is stopping; reconnect later to follow the task."


class StreamEvent(NamedTuple):
    """One server-sent event: its name (``task`` or ``shutdown``) and its JSON data."""

    name: str
    data: dict[str, Any]


class TaskStreams:
    """Watches tasks for event streams; `close_all` ends every one of them."""

    def __init__(self, store: TaskStore, events: TaskEvents) -> None:
        """No stream is open yet."""
        self._store, self._events = store, events
        self._open: set[asyncio.Queue[dict[str, Any]]] = set()
        self._prompt: set[asyncio.Queue[dict[str, Any]]] = set()
        self._wake_up: dict[str, Any] = {}  # put in a stream's queue by `close_all`
        self.is_closing = False
        self.is_stopping = False

    async def watch(self, task_id: str, *, prompt: bool = False) -> AsyncIterator[StreamEvent]:
        """Current state, then every change, ending at a terminal state or at shutdown.

        A ``prompt`` watcher (a WebSocket: the HTTP server closes those itself as soon as it
        stops) ends at `stop_prompt`, the first sign of a stop; the others at `close_all`.
        """
        queue = self._events.subscribe(task_id)
        self._open.add(queue)
        if prompt:
            self._prompt.add(queue)
        try:
            last = await self._state(task_id)
            yield StreamEvent("task", last)
            while TaskStatus(last["status"]) not in TERMINAL:
                if prompt and self.is_stopping:  # no time to ask the database: what we know
                    yield StreamEvent("shutdown", {**last, "message": SHUTDOWN_MESSAGE})
                    return
                if self.is_closing:
                    yield StreamEvent("shutdown", await self._final_state(task_id, last))
                    return
                event = await self._next(task_id, queue)
                if event is not self._wake_up:
                    last = event
                    yield StreamEvent("task", event)
        finally:
            self._open.discard(queue)
            self._prompt.discard(queue)
            self._events.unsubscribe(task_id, queue)

    def stop_prompt(self) -> None:
        """End the prompt watchers (and any opened from now on) with a ``shutdown`` event."""
        self.is_stopping = True
        self._wake(self._prompt)

    def close_all(self) -> None:
        """End every open stream (and any opened from now on) with a ``shutdown`` event."""
        self.is_closing = self.is_stopping = True
        self._wake(self._open)
        if self._open:
            logger.info("task.streams_closed", count=len(self._open))

    def _wake(self, queues: set[asyncio.Queue[dict[str, Any]]]) -> None:
        for queue in list(queues):
            if queue.full():
                queue.get_nowait()
            queue.put_nowait(self._wake_up)

    async def _next(self, task_id: str, queue: asyncio.Queue[dict[str, Any]]) -> dict[str, Any]:
        try:
            return await asyncio.wait_for(queue.get(), timeout=REREAD_S)
        except TimeoutError:
            return await self._state(task_id)  # missed nothing: re-read the truth

    async def _state(self, task_id: str) -> dict[str, Any]:
        task = await self._store.get(task_id)
        return {"id": task_id, "status": task.status, "progress": task.progress}

    async def _final_state(self, task_id: str, last: dict[str, Any]) -> dict[str, Any]:
        """The row as it is now (the last event heard if the database cannot say)."""
        try:
            state = await self._state(task_id)
        except Exception:  # the database is going away too: what we knew last
            state = dict(last)
        return {**state, "message": SHUTDOWN_MESSAGE}
