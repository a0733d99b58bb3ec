"""Task orders: how a slice's route queues work as a task without importing the task package.

The task package sits above the slices, so a route that must answer with a task (a batch, a
video) asks for the `TaskDesk` port (``FromDishka[sdk.TaskDesk]``); the composition root
provides the task service's implementation. The answer is the task API's own 202.
"""

from abc import ABC, abstractmethod
from typing import Annotated, Any

from litestar import Response
from msgspec import Meta, Struct


class TaskOrder(Struct, kw_only=True):
    """What to queue: one tool, its options (JSON-able), and one or more inputs.

    More than one input makes a batch: a parent task with one child per input, whose result
    is a zip with a manifest.
    """

    tool: str
    options: dict[str, Any]
    inputs: list[bytes]
    names: list[str | None] = []
    # The work of each input in megapixels, charged to the key's quota, when the input is not
    # one image whose header says it (a video: frames x width x height). Default: the header.
    megapixels: list[float] | None = None
    priority: int = 0
    timeout_s: float | None = None
    callback_url: str | None = None


class TaskFields(Struct, kw_only=True, forbid_unknown_fields=True):
    """The task fields a form route may carry besides its own (mix into its form)."""

    priority: Annotated[int, Meta(ge=-100, le=100, description="Higher runs first.")] = 0
    timeout_s: Annotated[float, Meta(gt=0, le=3600, description="Per attempt.")] | None = None
    callback_url: (
        Annotated[str, Meta(max_length=2048, description="Receives the final status (POST).")]
        | None
    ) = None


class TaskDesk(ABC):
    """Queues task orders for the calling key (REQUEST scope)."""

    @abstractmethod
    async def submit(self, order: TaskOrder) -> Response[Any]:
        """Validate, reserve quota, store and queue ``order``; the 202 answer with its links.

        Raises:
            ValidationError: unknown tool or bad options; FeatureDisabledError: switched off;
            ServiceOverloadedError: too many tasks wait; InsufficientQuotaError.
        """
