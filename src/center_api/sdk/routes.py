"""The handler factory: a slice's image routes are declared, not copy-pasted.

Every image route does the same five things: parse the form (multipart, urlencoded or JSON:
`http.bodies`), read the one image
source it carries, split off the options, call the slice's service, answer. `image_route`
builds that handler from a declaration::

    segment = sdk.image_route(
        "/segment",
        CutoutForm,  # sdk.image_form(CutoutOptions, "CutoutForm")
        CutoutOptions,
        CutoutService.segment,  # async (service, image bytes, options) -> SliceResult | JSON
        summary="Remove the background",
    )

The form's fields show in OpenAPI as they would on a hand-written handler, under the three
media types. A hand-written form route gets the same body handling with `image_post`.
"""

import sys
from collections.abc import Awaitable, Callable
from functools import partial
from typing import Annotated, Any, Required, TypedDict, TypeVar, Unpack

from dishka.integrations.litestar import FromDishka, inject
from litestar import Request, Response, post
from litestar.enums import RequestEncodingType
from litestar.handlers import HTTPRouteHandler
from litestar.params import Body
from msgspec import Struct

from center_api.cache.results import ResultCache
from center_api.core.settings import Settings
from center_api.http.bodies import AnyBodyOperation, accept_any_body
from center_api.http.responses import cached_call, image_response
from center_api.http.sources import options_of, read_image_source
from center_api.registry.spec import SliceResult

OptionsT = TypeVar("OptionsT", bound=Struct)
ServiceT = TypeVar("ServiceT")
_MULTIPART: Any = Body(media_type=RequestEncodingType.MULTI_PART)
# ``@image_post("/path", summary=...)``: a POST form route that also reads urlencoded and JSON
# bodies (and documents all three); declare its body as ``Annotated[Form, sdk.MULTIPART]``.
image_post = partial(post, before_request=accept_any_body, operation_class=AnyBodyOperation)


class ImageRoute(TypedDict, total=False):
    """How an image route is documented and answers (the keyword arguments of `image_route`).

    Attributes:
        summary: the OpenAPI summary.
        description: the OpenAPI description.
        response_description: what the 200 answer is.
        returns: the JSON type the call answers (shown in OpenAPI); leave it out when the call
            answers a `SliceResult` (image bytes, or JSON with base64 for ``Accept: JSON``).
        json_when: a test of the options that makes a `SliceResult` answer JSON whatever the
            Accept header says (e.g. ``lambda options: options.return_faces == "beside"``).
    """

    summary: Required[str]
    description: str
    response_description: str
    returns: Any
    json_when: Callable[[Any], bool]


def image_route(
    path: str,
    form: type[Struct],
    options: type[OptionsT],
    call: Callable[[ServiceT, bytes, OptionsT], Awaitable[Any]],
    **route: Unpack[ImageRoute],
) -> HTTPRouteHandler:
    """A ``POST path`` handler that reads one image and answers what ``call`` gives.

    Args:
        path: the route under the slice's router, e.g. ``"/segment"``; its last segment names
            the handler (and so the OpenAPI operation id).
        form: the multipart form (`image_form` of the options, plus any extra fields).
        options: the options type the form carries; ``call`` gets an instance of it.
        call: an async method of a service class the slice provides, e.g.
            ``CutoutService.segment``; the handler resolves that class from the request's
            container and calls it with the image bytes and the options.
        route: the documentation and the answer's shape (`ImageRoute`).

    Raises:
        TypeError: ``call`` is not a method of a module-level class.
    """
    service_type = _owner_class(call)
    json_when = route.get("json_when")

    async def handler(
        request: Request[Any, Any, Any],
        data: Annotated[form, _MULTIPART],  # type: ignore[valid-type]
        service: FromDishka[service_type],  # type: ignore[valid-type]
        settings: FromDishka[Settings],
        cache: FromDishka[ResultCache],
    ) -> Any:
        image = await read_image_source(data, settings)
        chosen = options_of(data, options)
        compute = partial(call, service, image, chosen)
        result = await cached_call(request, cache, call, image, chosen, compute)
        if not isinstance(result, SliceResult):
            return result
        force_json = json_when is not None and json_when(chosen)
        return image_response(request, result, force_json=force_json)

    handler.__annotations__["return"] = route.get("returns", Response[Any])
    handler.__name__ = handler.__qualname__ = path.rstrip("/").rsplit("/", 1)[-1].replace("-", "_")
    return image_post(
        path,
        summary=route["summary"],
        description=route.get("description"),
        response_description=route.get("response_description"),
        status_code=200,
    )(inject(handler))


def _owner_class(call: Callable[..., Any]) -> type:
    """The class ``call`` is a method of (``CutoutService.segment`` → ``CutoutService``)."""
    owner_name, _, _ = getattr(call, "__qualname__", "").rpartition(".")
    module = sys.modules.get(getattr(call, "__module__", ""))
    owner = getattr(module, owner_name, None) if owner_name and "." not in owner_name else None
    if not isinstance(owner, type):
        raise TypeError(
            f"image_route needs a method of a service class (e.g. MyService.process), got {call!r}"
        )
    return owner
