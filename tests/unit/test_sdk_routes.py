"""The SDK's handler factory: declared image routes behave and document like written ones."""

import pytest
from litestar import Litestar, Router
from msgspec import Struct

from center_api import sdk


class ShoutOptions(Struct, forbid_unknown_fields=True, kw_only=True):
    loud: bool = False


ShoutForm = sdk.image_form(ShoutOptions, "ShoutForm")


class ShoutService:
    async def shout(self, image: bytes, options: ShoutOptions) -> dict[str, object]:
        return {"bytes": len(image), "loud": options.loud}


async def not_a_method(service: object, image: bytes, options: ShoutOptions) -> None:
    return None


def test_a_declared_route_documents_its_form_fields_and_answer():
    route = sdk.image_route(
        "/shout-out", ShoutForm, ShoutOptions, ShoutService.shout, summary="Shout", returns=dict
    )
    assert route.handler_name == "shout_out"
    spec = Litestar([Router(path="/x", route_handlers=[route])]).openapi_schema.to_schema()
    operation = spec["paths"]["/x/shout-out"]["post"]
    assert operation["summary"] == "Shout"
    body = operation["requestBody"]["content"]["multipart/form-data"]["schema"]
    assert body == {"$ref": "#/components/schemas/ShoutForm"}
    fields = spec["components"]["schemas"]["ShoutForm"]["properties"]
    assert set(fields) == {"file", "image_file", "image_url", "image_file_b64", "loud"}
    # The same form also as urlencoded and JSON (http/bodies.py)
    media = set(operation["requestBody"]["content"])
    assert media == {"multipart/form-data", "application/x-www-form-urlencoded", "application/json"}


def test_a_route_needs_a_method_of_a_service_class():
    with pytest.raises(TypeError, match="method of a service class"):
        sdk.image_route("/x", ShoutForm, ShoutOptions, not_a_method, summary="X")
