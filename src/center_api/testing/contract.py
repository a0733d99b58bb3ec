"""The slice contract check: one call tells a plugin author whether their slice is valid.

`check_slice` loads the slice through its entry point, checks its declarations, builds a real
app with it enabled, and checks its routes in OpenAPI, ``run()`` on a sample image and the
error envelope. It raises `ContractError` (an ``AssertionError``, so pytest shows it as a
failure) naming what is wrong.
"""

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import msgspec
from litestar import Litestar
from litestar.testing import TestClient
from msgspec import Struct

from center_api.core.settings import API_PREFIX, Settings
from center_api.kernel.model_store import ModelStore
from center_api.registry.loader import discover_slices, run_needed
from center_api.registry.spec import Slice, SliceResult, defines_run
from center_api.testing.apps import kit_settings, sample_png, slice_client

_ENVELOPE_KEYS = {"success", "error", "request_id"}


class ContractError(AssertionError):
    """The slice breaks the contract; the message says how."""


@dataclass
class ContractReport:
    """What the check saw (for further assertions in the caller's test)."""

    name: str
    routes: list[str] = field(default_factory=list)
    result: SliceResult | None = None
    error_codes: list[str] = field(default_factory=list)


def check_slice(
    name: str,
    tmp_path: Path,
    *,
    sample: bytes | None = None,
    options: Struct | None = None,
    extra: Mapping[str, Any] | None = None,
) -> ContractReport:
    """Check that the installed slice ``name`` honours the slice contract.

    Args:
        name: the slice's entry-point name.
        tmp_path: a per-test directory for the app's database.
        sample: image bytes for ``run()``; a small generated PNG if None.
        options: options for ``run()``; ``options_type()`` (all defaults) if None.
        extra: more settings sections for the app (the slice itself is always enabled).

    Raises:
        ContractError: with the reason, at the first broken rule.
    """
    settings = kit_settings(tmp_path, (name,), extra)
    plugin = _enabled_slice(name, settings)
    _check_declarations(plugin)
    report = ContractReport(name=name)
    with slice_client(tmp_path, name, extra=extra) as client:
        report.routes = _check_openapi(client, plugin)
        report.error_codes = _check_error_envelope(client, plugin, report.routes)
        takes_video = plugin.capabilities.accepts_video and sample is not None
        if plugin.capabilities.accepts_image or takes_video:  # a video slice: pass a sample
            report.result = _check_run(client, plugin, sample or sample_png(), options)
    return report


def _enabled_slice(name: str, settings: Settings) -> Slice:
    """Load ``name`` through the entry points exactly as the server does; it must be enabled."""
    store = ModelStore.from_directory(Path(settings.models.dir))
    entry = discover_slices(settings, store).get(name)
    if entry is None:
        raise ContractError(f"no slice named {name!r} is installed (check its entry point)")
    status, reason = entry.status(store)
    if status != "enabled" or entry.slice is None:
        raise ContractError(f"slice {name!r} is {status} when enabled in config: {reason}")
    return entry.slice


def _check_declarations(plugin: Slice) -> None:
    """Options are a msgspec Struct with a JSON schema; capabilities are consistent."""
    try:
        msgspec.json.schema(plugin.options_type)
    except (TypeError, ValueError) as exc:
        raise ContractError(f"{plugin.name}: options_type has no JSON schema: {exc}") from exc
    produces = plugin.capabilities.produces
    if not produces or not set(produces) <= {"image", "mask", "json", "video"}:
        raise ContractError(f"{plugin.name}: capabilities.produces is {produces!r}")
    if not plugin.title or not plugin.description:
        raise ContractError(f"{plugin.name}: declare a title and a description")
    takes_input = plugin.capabilities.accepts_image or plugin.capabilities.accepts_video
    if plugin.capabilities.supports_tasks and not takes_input:
        raise ContractError(f"{plugin.name}: tasks need an image or a video; supports_tasks=False")
    if run_needed(plugin) and not defines_run(plugin):
        raise ContractError(f"{plugin.name}: a slice that takes images must define run()")


def _check_openapi(client: TestClient[Litestar], plugin: Slice) -> list[str]:
    """The slice's routes (under ``/api/v1<path>``) appear in the OpenAPI document."""
    document = client.get("/schema/openapi.json").json()
    prefix = API_PREFIX + plugin.path
    routes = sorted(p for p in document["paths"] if p == prefix or p.startswith(prefix + "/"))
    if not routes:
        raise ContractError(f"{plugin.name}: no route under {prefix} in the OpenAPI document")
    return routes


def _check_error_envelope(
    client: TestClient[Litestar], plugin: Slice, routes: list[str]
) -> list[str]:
    """Bad input answers the error envelope: an image slice's POST routes get a non-image."""
    document = client.get("/schema/openapi.json").json()
    posts = [r for r in routes if "post" in document["paths"][r] and "{" not in r]
    if plugin.capabilities.accepts_image and posts:
        files = {"file": ("not-an-image.png", b"this is not an image")}
        responses = [client.post(route, files=files) for route in posts]
    else:
        responses = [client.get(f"{API_PREFIX}{plugin.path}/__contract__/missing")]
    return [_envelope_code(plugin, response) for response in responses]


def _envelope_code(plugin: Slice, response: Any) -> str:
    where = f"{plugin.name}: {response.request.method} {response.request.url.path}"
    if not 400 <= response.status_code < 500:
        raise ContractError(f"{where}: bad input answered {response.status_code}, not 4xx")
    body = response.json()
    error = body.get("error") if isinstance(body, dict) else None
    if not (isinstance(body, dict) and body.keys() >= _ENVELOPE_KEYS and isinstance(error, dict)):
        raise ContractError(f"{where}: the error is not the envelope: {body!r}")
    code = str(error.get("code", ""))
    if body["success"] is not False or not code.isupper() or not error.get("message"):
        raise ContractError(f"{where}: malformed error envelope: {body!r}")
    return code


def _check_run(
    client: TestClient[Litestar], plugin: Slice, sample: bytes, options: Struct | None
) -> SliceResult:
    """``run()`` in a REQUEST scope (as the task runner calls it) gives a sensible result."""
    chosen = options if options is not None else _default_options(plugin)
    if plugin.capabilities.supports_tasks:
        # Tasks store options as JSON and convert them back: that round trip must hold.
        msgspec.convert(msgspec.to_builtins(chosen), plugin.options_type)
    app = client.app

    async def run() -> SliceResult:
        async with app.state.dishka_container() as scope:
            return await plugin.run(scope, sample, chosen)

    result = client.blocking_portal.call(run)
    if not isinstance(result, SliceResult) or not result.content:
        raise ContractError(f"{plugin.name}: run() must return a non-empty SliceResult")
    kinds = {"application/json": {"json"}, "video": {"video"}}
    allowed = kinds.get(result.media_type, kinds.get(result.media_type.split("/")[0], set()))
    allowed = allowed or {"image", "mask"}
    if not allowed & set(plugin.capabilities.produces):
        raise ContractError(
            f"{plugin.name}: run() answered {result.media_type} but produces="
            f"{plugin.capabilities.produces!r}"
        )
    return result


def _default_options(plugin: Slice) -> Struct:
    try:
        return plugin.options_type()
    except (TypeError, msgspec.ValidationError) as exc:
        raise ContractError(
            f"{plugin.name}: options_type() needs arguments ({exc}); pass options= to check_slice"
        ) from exc
