"""The catalog: every installed slice with its status, capabilities, routes and models.

The tools slice serves it (``GET /api/v1/tools``); ``center-api plugins list`` prints it.
"""

from collections.abc import Mapping, Sequence
from typing import Literal

from msgspec import Struct

from center_api.core.settings import API_PREFIX
from center_api.kernel.model_store import ModelStore
from center_api.registry.loader import SliceEntry, SliceRegistry


class CapabilitiesInfo(Struct, kw_only=True):
    """What a slice takes and gives."""

    produces: list[str]
    accepts_image: bool
    supports_tasks: bool


class ModelInfo(Struct, kw_only=True):
    """A model a slice uses, with its install state and licence."""

    id: str
    required: bool
    state: Literal["installed", "missing", "corrupt", "unknown"]
    size: int | None
    license: str | None
    commercial_use: bool | None


class RouteInfo(Struct, kw_only=True):
    """One HTTP route of a slice."""

    path: str
    methods: list[str]


class ToolInfo(Struct, kw_only=True):
    """One installed slice, enabled or not."""

    name: str
    title: str | None
    description: str | None
    version: str | None
    distribution: str | None
    is_builtin: bool
    status: Literal["enabled", "disabled", "failed"]
    reason: str | None
    capabilities: CapabilitiesInfo | None
    routes: list[RouteInfo]
    models: list[ModelInfo]


class ToolList(Struct, kw_only=True):
    """The catalog."""

    tools: list[ToolInfo]


def build_catalog(
    registry: SliceRegistry, store: ModelStore, routes: Mapping[str, Sequence[str]] | None = None
) -> list[ToolInfo]:
    """One `ToolInfo` per registry entry; ``routes`` maps app paths to their methods."""
    return [tool_info(entry, store, routes or {}) for entry in registry.entries]


def tool_info(
    entry: SliceEntry, store: ModelStore, routes: Mapping[str, Sequence[str]]
) -> ToolInfo:
    """Describe one slice (failed ones with what is known: name, distribution, reason)."""
    status, reason = entry.status(store)
    spec = entry.slice
    prefix = f"{API_PREFIX}{spec.path}" if spec is not None else None
    mounted = entry.is_mounted and prefix is not None
    return ToolInfo(
        name=entry.name,
        title=spec.title if spec else None,
        description=spec.description if spec else None,
        version=entry.version,
        distribution=entry.distribution,
        is_builtin=entry.is_builtin,
        status=status,
        reason=reason,
        capabilities=CapabilitiesInfo(
            produces=list(spec.capabilities.produces),
            accepts_image=spec.capabilities.accepts_image,
            supports_tasks=spec.capabilities.supports_tasks,
        )
        if spec
        else None,
        routes=[
            RouteInfo(path=path, methods=sorted(methods))
            for path, methods in sorted(routes.items())
            if mounted and prefix and (path == prefix or path.startswith(prefix + "/"))
        ],
        models=[_model_info(req.id, req.required, store) for req in (spec.models if spec else ())],
    )


def _model_info(model_id: str, required: bool, store: ModelStore) -> ModelInfo:
    if model_id not in store.ids():
        return ModelInfo(
            id=model_id,
            required=required,
            state="unknown",
            size=None,
            license=None,
            commercial_use=None,
        )
    row = store.status(model_id)
    return ModelInfo(
        id=model_id,
        required=required,
        state=row.state,
        size=row.size,
        license=row.license,
        commercial_use=row.commercial_use,
    )
