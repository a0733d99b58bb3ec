"""Routes that stand in for a slice switched off in config: every call answers FEATURE_DISABLED."""

from litestar import Router, route
from litestar.enums import HttpMethod

from center_api.core.errors import FeatureDisabledError

_ALL_METHODS = [
    HttpMethod.GET,
    HttpMethod.POST,
    HttpMethod.PUT,
    HttpMethod.PATCH,
    HttpMethod.DELETE,
]


def disabled_router(name: str, path: str) -> Router:
    """A router under ``path`` whose every route answers `FeatureDisabledError` for ``name``."""

    @route(["/", "/{rest:path}"], http_method=_ALL_METHODS, include_in_schema=False)
    async def disabled() -> None:
        raise FeatureDisabledError(
            f"The {name!r} feature is disabled on this server.",
            details={"slice": name, "enable": f"[slices.{name}] enabled = true"},
        )

    return Router(path=path, route_handlers=[disabled])
