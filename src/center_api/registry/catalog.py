"""The catalog: every installed slice with its status, capabilities, routes and models.

The tools slice serves it (``GET /api/v1/tools``); ``center-api plugins list`` prints it.
"""

from collections.abc import Mapping, Sequence
from typing import Any, Literal

import msgspec
from msgspec import Struct

from center_api.core.settings import API_PREFIX
from center_api.kernel.model_store import ModelStore
from center_api.registry.loader import SliceEntry, SliceRegistry
from center_api.registry.spec import Slice


class CapabilitiesInfo(Struct, kw_only=True):
    """What a slice takes and gives (``takes_image``/``gives_image``: what chains in a pipeline)."""

    produces: list[str]
    accepts_image: bool
    supports_tasks: bool
    takes_image: bool
    gives_image: bool
    takes_video: bool


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
    # The JSON schema of the slice's options: what a task or a pipeline step may send.
    options_schema: dict[str, Any] | None = None


class ToolList(Struct, kw_only=True):
    """The catalog."""

    tools: list[ToolInfo]


def build_catalog(
    registry: SliceRegistry, store: ModelStore, routes: Mapping[str, Sequence[str]] | None = None
) -> list[ToolInfo]:
    """One `ToolInfo` per registry entry; ``routes`` maps app paths to their methods."""
    prefixes = [f"{API_PREFIX}{e.slice.path}" for e in registry.entries if e.slice is not None]
    return [tool_info(entry, store, routes or {}, prefixes) for entry in registry.entries]


def tool_info(
    entry: SliceEntry,
    store: ModelStore,
    routes: Mapping[str, Sequence[str]],
    others: Sequence[str] = (),
) -> ToolInfo:
    """Describe one slice (failed ones with what is known: name, distribution, reason).

    ``others`` are the other slices' path prefixes: a route under a longer one (``/process``
    and ``/process/video``) is that slice's.
    """
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
        capabilities=_capabilities(spec) if spec else None,
        routes=[
            RouteInfo(path=path, methods=sorted(methods))
            for path, methods in sorted(routes.items())
            if mounted and prefix and _owns(prefix, path, others)
        ],
        models=[_model_info(req.id, req.required, store) for req in (spec.models if spec else ())],
        options_schema=_options_schema(spec) if spec else None,
    )


def _capabilities(spec: Slice) -> CapabilitiesInfo:
    caps = spec.capabilities
    return CapabilitiesInfo(
        produces=list(caps.produces),
        accepts_image=caps.accepts_image,
        supports_tasks=caps.supports_tasks,
        takes_image=caps.accepts_image,
        gives_image=caps.gives_image,
        takes_video=caps.accepts_video,
    )


def _owns(prefix: str, path: str, others: Sequence[str]) -> bool:
    """Whether ``path`` is under ``prefix`` and no longer prefix (another slice's) claims it."""
    if not (path == prefix or path.startswith(prefix + "/")):
        return False
    return not any(
        len(other) > len(prefix) and (path == other or path.startswith(other + "/"))
        for other in others
    )


def _options_schema(spec: Slice) -> dict[str, Any] | None:
    try:
        return dict(msgspec.json.schema(spec.options_type))
    except (TypeError, ValueError, AttributeError):  # a plugin's odd type: the rest still shows
        return None


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
