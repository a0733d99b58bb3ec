"""The tools slice: catalog of slices, usage records and statistics.

It takes no image, so it has no ``run()``.
May import: `center_api.sdk`, this package, and `registry` (the catalog) and `usage` (the
reports).
"""

from collections.abc import Sequence

from dishka import Provider
from litestar import Router

from center_api.sdk import Capabilities, Slice
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


SLICE = ToolsSlice()
