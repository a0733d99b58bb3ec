"""The tools slice: catalog of slices, usage records and statistics."""

from collections.abc import Sequence

from dishka import AsyncContainer, Provider
from litestar import Router
from msgspec import Struct

from center_api.core.errors import ValidationError
from center_api.registry.spec import Capabilities, Slice, SliceResult
from center_api.slices.tools.provider import ToolsProvider
from center_api.slices.tools.schemas import ToolsOptions


class ToolsSlice(Slice):
    """What this server can do, and what it has done."""

    name = "tools"
    title = "Tools catalog and usage"
    description = "Installed slices with status and models; usage records and statistics."
    path = "/tools"
    options_type = ToolsOptions
    capabilities = Capabilities(produces=("json",), accepts_image=False, supports_tasks=False)

    def build_router(self) -> Router:
        """Routes under /api/v1/tools."""
        from center_api.slices.tools.router import build_router  # noqa: PLC0415

        return build_router()

    def providers(self) -> Sequence[Provider]:
        """The usage service."""
        return [ToolsProvider()]

    async def run(self, container: AsyncContainer, image: bytes, options: Struct) -> SliceResult:
        """The catalog processes no images."""
        raise ValidationError("The tools slice does not process images.")


SLICE = ToolsSlice()
