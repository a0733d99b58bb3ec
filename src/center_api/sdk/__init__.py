"""The public contract for slices: the one import a plugin (and a built-in slice) needs.

Everything a slice uses comes from here, so internal modules can move without breaking plugins.
The contract is versioned by `API_VERSION` (``MAJOR.MINOR``): set your slice's
``api_version`` to the version you built against (the default does that); a server loads it
when the major matches and its own minor is the same or newer.

Example::

    from center_api import sdk

    class MySlice(sdk.Slice):
        name = "my_slice"
        ...

See ``docs/plugins.md`` for a full, minimal plugin.

Owns: this surface, the handler factory (`routes.image_route`) and `vision`, the image helpers
two or more slices share.
May import: `core`, `kernel`, `registry`, `usage` (a pipeline step's usage row), `auth` (route
markers) and `http`.
"""

from typing import Any

from dishka import AsyncContainer, Provider, Scope, provide
from dishka.integrations.litestar import FromDishka, inject
from litestar import Request, Response, Router, get, post
from litestar.enums import RequestEncodingType
from litestar.params import Body
from msgspec import Meta, Struct

from center_api.auth.access import ADMIN_ONLY, PUBLIC
from center_api.core.errors import (
    AppException,
    CropTooTightError,
    FaceRotatedError,
    FaceTooSmallError,
    FeatureDisabledError,
    FormatNeedsBackgroundError,
    HeadCutOffError,
    InputError,
    InvalidImageError,
    MissingSourceError,
    ModelLoadError,
    ModelNotAvailableError,
    MultipleFacesError,
    MultipleSourcesError,
    NoFaceDetectedError,
    ResourceNotFoundError,
    ServiceOverloadedError,
    TargetSizeUnreachableError,
    ValidationError,
)
from center_api.core.outbound import fetch_bytes
from center_api.core.progress import TaskPaused, TaskProgress, current_progress
from center_api.core.settings import API_PREFIX, ImageSettings, Settings
from center_api.http.paging import MAX_LIMIT, MAX_OFFSET
from center_api.http.responses import image_response, metadata_headers, wants_fresh, wants_json
from center_api.http.sources import (
    decode_base64_image,
    image_form,
    options_of,
    read_image_source,
)
from center_api.kernel.imaging import (
    EXTENSIONS,
    MEDIA_TYPES,
    DecodedImage,
    OutputFormat,
    OutputSize,
    decode_image,
    decode_scaled,
    encode_image,
    scale_for_output,
)
from center_api.kernel.kernel import InferenceKernel
from center_api.kernel.model_store import (
    InputSpec,
    ModelSpec,
    ModelStore,
    OutputSpec,
    Source,
    load_manifest,
    pull_command,
)
from center_api.kernel.sessions import LoadedModel
from center_api.registry.spec import (
    API_VERSION,
    ENTRY_POINT_GROUP,
    Capabilities,
    ModelRequirement,
    Produces,
    Slice,
    SliceResult,
)
from center_api.sdk import vision
from center_api.sdk.orders import TaskDesk, TaskFields, TaskOrder
from center_api.sdk.routes import ImageRoute, image_post, image_route
from center_api.sdk.steps import PlannedStep, ToolSteps

# Route access: every route needs a key; ``opt=sdk.ADMIN_ONLY`` restricts it to admin keys,
# ``opt=sdk.PUBLIC`` opens it to anyone. Use as ``data: Annotated[MyForm, sdk.MULTIPART]``.
MULTIPART: Any = Body(media_type=RequestEncodingType.MULTI_PART)
JSON_MEDIA_TYPE = "application/json"

__all__ = [
    "ADMIN_ONLY",
    "API_PREFIX",
    "API_VERSION",
    "ENTRY_POINT_GROUP",
    "EXTENSIONS",
    "JSON_MEDIA_TYPE",
    "MAX_LIMIT",
    "MAX_OFFSET",
    "MEDIA_TYPES",
    "MULTIPART",
    "PUBLIC",
    "AppException",
    "AsyncContainer",
    "Body",
    "Capabilities",
    "CropTooTightError",
    "DecodedImage",
    "FaceRotatedError",
    "FaceTooSmallError",
    "FeatureDisabledError",
    "FormatNeedsBackgroundError",
    "FromDishka",
    "HeadCutOffError",
    "ImageRoute",
    "ImageSettings",
    "InferenceKernel",
    "InputError",
    "InputSpec",
    "InvalidImageError",
    "LoadedModel",
    "Meta",
    "MissingSourceError",
    "ModelLoadError",
    "ModelNotAvailableError",
    "ModelRequirement",
    "ModelSpec",
    "ModelStore",
    "MultipleFacesError",
    "MultipleSourcesError",
    "NoFaceDetectedError",
    "OutputFormat",
    "OutputSize",
    "OutputSpec",
    "PlannedStep",
    "Produces",
    "Provider",
    "Request",
    "RequestEncodingType",
    "ResourceNotFoundError",
    "Response",
    "Router",
    "Scope",
    "ServiceOverloadedError",
    "Settings",
    "Slice",
    "SliceResult",
    "Source",
    "Struct",
    "TargetSizeUnreachableError",
    "TaskDesk",
    "TaskFields",
    "TaskOrder",
    "TaskPaused",
    "TaskProgress",
    "ToolSteps",
    "ValidationError",
    "current_progress",
    "decode_base64_image",
    "decode_image",
    "decode_scaled",
    "encode_image",
    "fetch_bytes",
    "get",
    "image_form",
    "image_post",
    "image_response",
    "image_route",
    "inject",
    "load_manifest",
    "metadata_headers",
    "options_of",
    "post",
    "provide",
    "pull_command",
    "read_image_source",
    "scale_for_output",
    "vision",
    "wants_fresh",
    "wants_json",
]
