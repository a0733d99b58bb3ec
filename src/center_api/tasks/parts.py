"""The collaborators every concern of the task system shares (built once per process)."""

from dataclasses import dataclass

from center_api.tasks.events import TaskEvents
from center_api.tasks.queue.port import TaskQueue
from center_api.tasks.results import ResultStore
from center_api.tasks.runner import TaskRunner
from center_api.tasks.store import TaskStore
from center_api.tasks.streams import TaskStreams


@dataclass(frozen=True)
class TaskParts:
    """Rows, files, the queue, the runner, progress events and the open event streams."""

    store: TaskStore
    results: ResultStore
    queue: TaskQueue
    runner: TaskRunner
    events: TaskEvents
    streams: TaskStreams
