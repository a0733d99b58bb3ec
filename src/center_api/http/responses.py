"""HTTP answers every slice router shares: image bytes with metadata headers, or JSON.

`cached_call` puts the result cache around a route's service call: ``X-Cache: HIT | MISS``,
``Cache-Control: no-cache`` recomputes.
"""

import base64
from collections.abc import Awaitable, Callable
from typing import Any

from litestar import Request, Response

from center_api.cache.results import ResultCache, with_outcome
from center_api.core.request_facts import note_uncharged
from center_api.http.middleware import request_id_of
from center_api.registry.spec import SliceResult

JSON = "application/json"


def metadata_headers(metadata: dict[str, Any]) -> dict[str, str]:
    """``{"processing_ms": 12}`` → ``{"X-Processing-Ms": "12"}`` (scalars only)."""
    headers = {}
    for key, value in metadata.items():
        if isinstance(value, str | int | float | bool):
            name = "X-" + "-".join(part.capitalize() for part in key.split("_"))
            headers[name] = str(value).lower() if isinstance(value, bool) else str(value)
    return headers


def wants_json(request: Request[Any, Any, Any], media_type: str) -> bool:
    """True when the client's Accept header prefers JSON over the image's own type."""
    if JSON not in request.headers.get("accept", ""):
        return False
    return request.accept.best_match([media_type, JSON], default=media_type) == JSON


def image_response(
    request: Request[Any, Any, Any], result: SliceResult, *, force_json: bool = False
) -> Response[Any]:
    """Answer with the bytes and X-* metadata headers, or with JSON (base64) if asked for.

    ``force_json`` answers JSON whatever the Accept header says.
    """
    headers = metadata_headers(result.metadata)
    if result.media_type != JSON and (force_json or wants_json(request, result.media_type)):
        body = {
            "success": True,
            "media_type": result.media_type,
            "image_b64": base64.b64encode(result.content).decode("ascii"),
            "metadata": result.metadata,
            "request_id": request_id_of(request.scope),
        }
        return Response(content=body, media_type=JSON, headers=headers)
    return Response(content=result.content, media_type=result.media_type, headers=headers)


def wants_fresh(request: Request[Any, Any, Any]) -> bool:
    """Whether the client asked for a fresh result (``Cache-Control: no-cache`` or ``no-store``)."""
    directives = request.headers.get("cache-control", "").lower()
    return "no-cache" in directives or "no-store" in directives


async def cached_call(  # noqa: PLR0913, PLR0917 - what the key is made of, and the call itself
    request: Request[Any, Any, Any],
    cache: ResultCache,
    operation: Callable[..., Any],
    image: bytes,
    options: Any,
    compute: Callable[[], Awaitable[Any]],
) -> Any:
    """``compute()``'s result, or the cached one for the same image, route and options.

    ``operation`` is the service method the route calls (its module and name, and its
    package's code, are part of the key). A `SliceResult` comes back with ``cache`` =
    ``HIT`` or ``MISS`` in its metadata (so ``X-Cache``); a hit is not charged to the quota
    when ``[cache] charge_hits`` is false. ``Cache-Control: no-cache`` (or ``no-store``)
    skips the lookup and computes again.
    """
    tool = str(request.route_handler.opt.get("tool") or "")
    module = getattr(operation, "__module__", "") or ""
    key = (
        cache.key_for(
            tool=tool,
            operation=f"{module}.{getattr(operation, '__qualname__', '')}",
            package=module.split(".", 1)[0],
            image=image,
            options=options,
        )
        if tool and module
        else None
    )
    result, outcome = await cache.through(key, compute, refresh=wants_fresh(request))
    if outcome == "HIT" and not cache.settings.charge_hits:  # a hit is always a SliceResult
        note_uncharged()
    return with_outcome(result, outcome)
