"""Submission: validate, reserve the quota, store the input(s), create the row(s), enqueue."""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec
from uuid_utils.compat import uuid7

from center_api.auth.key_store import ApiKeyStore, is_key_owner
from center_api.core.errors import (
    AppException,
    FeatureDisabledError,
    ServiceOverloadedError,
    ValidationError,
)
from center_api.core.logging import get_logger
from center_api.core.outbound import check_url
from center_api.core.settings import Settings
from center_api.db.models import ProcessingTask
from center_api.kernel.imaging import probe_image
from center_api.registry.loader import SliceRegistry
from center_api.registry.spec import Slice
from center_api.tasks.archive import batch_input_name, safe_name
from center_api.tasks.domain import TaskStatus
from center_api.tasks.parts import TaskParts

logger = get_logger("center_api.tasks")


@dataclass(frozen=True)
class Submission:
    """One validated submission (the router builds it from the form)."""

    tool: str
    options: dict[str, Any]
    images: list[bytes]
    # The upload's file name of each image (None: base64 or a URL), in the order of ``images``.
    names: tuple[str | None, ...] = ()
    priority: int = 0
    timeout_s: float | None = None
    callback_url: str | None = None
    caller: str = "anonymous"
    # Each input's work in megapixels when its header does not say it (a video); else None.
    megapixels: tuple[float, ...] | None = None


class TaskSubmissions:
    """Takes submissions in: nothing is queued that was not validated, reserved and stored."""

    def __init__(
        self, parts: TaskParts, registry: SliceRegistry, settings: Settings, keys: ApiKeyStore
    ) -> None:
        self.store, self.results, self.queue = parts.store, parts.results, parts.queue
        self._registry, self._settings, self._keys = registry, settings, keys

    async def submit(self, submission: Submission) -> ProcessingTask:
        """Validate, reserve quota, store the input(s), create the row(s), enqueue.

        A batch gets a parent row. The owner's key (if any) reserves one call and the
        megapixels of each image up front; a batch that does not fit is refused whole.

        Raises:
            InsufficientQuotaError: the key's quota does not cover every image.
        """
        spec = self._task_slice(submission.tool)
        options = self._validated_options(spec, submission.options)
        if submission.callback_url:
            await check_url(submission.callback_url, self._settings.fetch)
        await self._check_capacity(len(submission.images))
        sizes = self._sizes(submission)
        if is_key_owner(submission.caller):
            await self._keys.reserve(
                submission.caller, calls=len(sizes), megapixels=round(sum(sizes), 4)
            )
        try:
            parent, children = await self._store_submission(submission, options, sizes)
        except BaseException:
            if is_key_owner(submission.caller):
                await self._keys.release(
                    submission.caller, calls=len(sizes), megapixels=round(sum(sizes), 4)
                )
            raise
        for row in children:
            await self.queue.enqueue(str(row.id), row.priority)
        return parent or children[0]

    async def _store_submission(
        self, submission: Submission, options: dict[str, Any], sizes: list[float]
    ) -> tuple[ProcessingTask | None, list[ProcessingTask]]:
        """The stored rows of a submission: a batch's parent (else None) and the runnable ones.

        If the rows cannot be stored (the database down or read-only), the inputs written
        for them are deleted before the error goes on: no file is left that no row names.
        """
        is_batch = len(sizes) > 1
        parent = self._new_row(submission, options, parent_id=None) if is_batch else None
        children: list[ProcessingTask] = []
        try:
            for index, megapixels in enumerate(sizes):
                row = self._new_row(submission, options, parent_id=parent.id if parent else None)
                row.input_ref = f"inputs/{row.id}"
                row.input_name = _input_name(submission, index, is_batch=is_batch)
                row.reserved_megapixels = megapixels
                children.append(row)
                await self.results.put(row.input_ref, submission.images[index])
            await self.store.add([*([parent] if parent else []), *children])
        except BaseException:
            await self._delete_inputs(children)
            raise
        return parent, children

    async def _delete_inputs(self, rows: list[ProcessingTask]) -> None:
        for row in rows:
            try:
                await self.results.delete(row.input_ref or "")
            except Exception:  # storage trouble too: the result sweep removes it later
                logger.warning("tasks.input_cleanup_failed", key=row.input_ref, exc_info=True)

    def _sizes(self, submission: Submission) -> list[float]:
        """Megapixels per input: as the submitting slice stated them, else from each header."""
        if submission.megapixels is None:
            return [self._megapixels(image) for image in submission.images]
        if len(submission.megapixels) != len(submission.images):
            raise ValueError("one megapixel figure per input")
        return [round(max(0.0, float(value)), 4) for value in submission.megapixels]

    def _megapixels(self, image: bytes) -> float:
        """The image's size from its header; 0 for one that is not an image (it will fail)."""
        try:
            width, height = probe_image(image, self._settings.images)
        except AppException:
            return 0.0
        return round(width * height / 1e6, 4)

    def _task_slice(self, tool: str) -> Slice:
        entry = self._registry.get(tool)
        if entry is None or entry.slice is None:
            raise ValidationError(f"No tool named {tool!r}.", details={"tool": tool})
        if not entry.is_mounted:
            raise FeatureDisabledError(f"The {tool!r} feature is disabled on this server.")
        capabilities = entry.slice.capabilities
        takes_input = capabilities.accepts_image or capabilities.accepts_video
        if not (capabilities.supports_tasks and takes_input):
            raise ValidationError(
                f"The tool {tool!r} cannot run as a task.", details={"tool": tool}
            )
        return entry.slice

    @staticmethod
    def _validated_options(spec: Slice, options: dict[str, Any]) -> dict[str, Any]:
        try:
            parsed = msgspec.convert(options, spec.options_type, strict=False)
        except msgspec.ValidationError as exc:
            raise ValidationError(
                f"Invalid options for {spec.name}: {exc}", details={"tool": spec.name}
            ) from exc
        return dict(msgspec.to_builtins(parsed))

    async def _check_capacity(self, adding: int) -> None:
        pending = (await self.store.count_by_status()).get(TaskStatus.PENDING, 0)
        limit = self._settings.tasks.max_pending
        if pending + adding > limit:
            raise ServiceOverloadedError(
                "Too many tasks are waiting; retry shortly.",
                retry_after_s=self._settings.inference.retry_after_s,
                details={"pending": pending, "max_pending": limit},
            )

    def _new_row(
        self, submission: Submission, options: dict[str, Any], parent_id: Any
    ) -> ProcessingTask:
        settings = self._settings.tasks
        return ProcessingTask(
            # Time-ordered ids: a batch's children sort in submission order even when two
            # were created within the same microsecond.
            id=uuid7(),
            tool=submission.tool,
            status=TaskStatus.PENDING.value,
            priority=submission.priority,
            options=options,
            progress=0,
            attempts=0,
            max_attempts=settings.max_attempts,
            timeout_s=submission.timeout_s or settings.default_timeout_s,
            caller=submission.caller,
            callback_url=submission.callback_url,
            parent_id=parent_id,
            expires_at=datetime.now(UTC) + timedelta(seconds=settings.result_ttl_s),
        )


def _input_name(submission: Submission, index: int, *, is_batch: bool) -> str | None:
    """The stored name of the ``index``-th image: sanitised; in a batch never empty."""
    name = submission.names[index] if index < len(submission.names) else None
    return batch_input_name(name, index) if is_batch else safe_name(name)
