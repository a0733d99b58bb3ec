"""The slice contract (registry API version 1).

A slice is a module-level object, named by an entry point in the ``center_api.slices`` group,
that subclasses `Slice`. The registry reads its declarations, mounts ``build_router()`` under
``/api/v1``, adds ``providers()`` to the container, adds ``model_specs`` to the model store, and
calls ``run()`` from the task runner.

Versioning: a slice built for ``X.Y`` loads on a server speaking ``X.Z`` with ``Z >= Y``
(minor versions only add); another major version is refused with a ``failed`` status.
1.1 added ``model_specs`` (a slice's own manifest entries) and the `center_api.sdk` facade.
1.2 made ``run()`` optional for slices that take no image, and added to the SDK: the handler
factory ``image_route``, more error types, ``fetch_bytes``/``decode_base64_image``, paging bounds,
``EXTENSIONS``, ``OutputSize``, ``decode_scaled``, and the vision helpers the built-in slices
share (segmentation checks, strips and tiles).
1.3 added ``Capabilities.gives_image`` (what may follow the slice in a pipeline),
``Capabilities.accepts_video`` (a task whose input is a video), `Slice.gives_image_with`, and
to the SDK the pipeline entry `ToolSteps` (plan and run other slices in process).
"""

from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Any, ClassVar, Literal

from dishka import AsyncContainer, Provider
from litestar import Router
from msgspec import Struct

from center_api.core.errors import ValidationError
from center_api.kernel.model_store import ModelSpec

API_VERSION = "1.3"
ENTRY_POINT_GROUP = "center_api.slices"

Produces = Literal["image", "mask", "json", "video"]


class Capabilities(Struct, frozen=True, kw_only=True):
    """What a slice takes and gives.

    Attributes:
        produces: the kinds of answer its routes give.
        accepts_image: ``run()`` takes an image (so it can be a pipeline step).
        supports_tasks: it runs as a task (``POST /api/v1/tasks``).
        gives_image: ``run()`` answers an image another step can take (default: its options
            may say otherwise, see `Slice.gives_image_with`); False: only a pipeline's last step.
        accepts_video: ``run()`` takes a video (a task's input), not an image.
    """

    produces: tuple[Produces, ...]
    accepts_image: bool = True
    supports_tasks: bool = True
    gives_image: bool = False
    accepts_video: bool = False


class ModelRequirement(Struct, frozen=True, kw_only=True):
    """A manifest model the slice uses; a missing required one marks the slice failed."""

    id: str
    required: bool = True


class SliceResult(Struct, kw_only=True):
    """What ``run()`` returns: the bytes, their media type, and metadata for headers/JSON."""

    content: bytes
    media_type: str
    metadata: dict[str, Any] = {}


class Slice(ABC):
    """Base class of every slice, built-in or third-party.

    Class attributes to set: ``name`` (unique, snake_case), ``title``, ``description``,
    ``path`` (URL prefix under ``/api/v1``, e.g. ``"/cutout"``), ``options_type`` (a msgspec
    Struct), ``models``, ``model_specs``, ``capabilities``; ``api_version`` stays at the
    version you built for.
    """

    name: ClassVar[str]
    title: ClassVar[str]
    description: ClassVar[str] = ""
    path: ClassVar[str]
    api_version: ClassVar[str] = API_VERSION
    options_type: ClassVar[type[Struct]]
    models: ClassVar[tuple[ModelRequirement, ...]] = ()
    # Manifest entries the slice brings itself (a plugin's weights; same fields as
    # model_store/manifest.toml). The registry adds them to the model store, so
    # `center-api models pull <id>` knows them; ids already in the manifest win.
    model_specs: ClassVar[tuple[ModelSpec, ...]] = ()
    capabilities: ClassVar[Capabilities]

    @abstractmethod
    def build_router(self) -> Router:
        """Return a fresh Router (path = ``self.path``) for one app."""

    def providers(self) -> Sequence[Provider]:
        """Return the dishka providers of this slice's services."""
        return ()

    async def run(self, container: AsyncContainer, image: bytes, options: Struct) -> SliceResult:
        """Process one image with validated ``options``; the sync route and tasks both use it.

        ``container`` is a REQUEST-scoped dishka container to resolve the slice's services from.
        Every slice that takes an image defines it; one that takes none (``accepts_image`` and
        ``supports_tasks`` false, like the tools catalog) need not: this one refuses.

        Raises:
            ValidationError: the slice processes no images.
        """
        raise ValidationError(f"The {self.name} slice does not process images.")

    def gives_image_with(self, options: Struct) -> bool:
        """Whether ``run()`` with ``options`` answers an image (one a next step can take).

        The default reads ``capabilities.gives_image``; a slice whose options can turn the
        answer into JSON (a list of boxes, say) overrides this.
        """
        return self.capabilities.gives_image


def defines_run(spec: Slice) -> bool:
    """Whether ``spec``'s class has its own ``run()`` (not the refusing default)."""
    return type(spec).run is not Slice.run
