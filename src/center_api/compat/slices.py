"""What the compatible routes need of the rest of the server: a slice run, a key's calls left.

They call a slice through the registry and its ``run()`` (exactly as the task runner does),
never its internals, so a compatible route follows the slice whatever its code becomes.
"""

import uuid
from typing import Any

import msgspec
from dishka import AsyncContainer
from sqlalchemy.ext.asyncio import AsyncSession

from center_api.core.errors import FeatureDisabledError, ValidationError
from center_api.db.models.api_key import ApiKey
from center_api.registry.loader import SliceRegistry
from center_api.registry.spec import SliceResult


async def run_slice(
    container: AsyncContainer, tool: str, image: bytes, options: dict[str, Any]
) -> SliceResult:
    """Run slice ``tool`` on ``image`` with ``options`` (its own option names).

    Raises:
        FeatureDisabledError: the slice is not installed or switched off.
        ValidationError: the options do not fit the slice's options type.
        AppException: whatever the slice raises (bad image, model missing, overload…).
    """
    registry = await container.get(SliceRegistry)
    entry = registry.get(tool)
    if entry is None or entry.slice is None or not entry.is_mounted:
        raise FeatureDisabledError(f"The {tool} tool is not enabled on this server.")
    try:
        chosen = msgspec.convert(options, entry.slice.options_type, strict=False)
    except msgspec.ValidationError as exc:
        raise ValidationError(str(exc), details={"options": list(options)}) from exc
    return await entry.slice.run(container, image, chosen)


async def cut_out(container: AsyncContainer, image: bytes, options: dict[str, Any]) -> bytes:
    """The subject on transparency, as PNG bytes (cutout's ``channels=rgba``, ``format=png``)."""
    result = await run_slice(
        container, "cutout", image, {**options, "channels": "rgba", "format": "png"}
    )
    return result.content


async def remaining_calls(container: AsyncContainer, key_id: str | None) -> int | None:
    """The calls left on key ``key_id``'s quota; None when it has none (or in open mode)."""
    if key_id is None:
        return None
    session = await container.get(AsyncSession)
    key = await session.get(ApiKey, uuid.UUID(key_id))
    if key is None or key.quota_calls is None:
        return None
    return max(0, key.quota_calls - key.used_calls)
