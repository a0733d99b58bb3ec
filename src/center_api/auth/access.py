"""Route access markers: what a handler's ``opt`` declares, read by the gate after routing.

Every handler is protected unless it opts out through its ``opt``:

- ``access``: ``"user"`` (the default: any valid key), ``"admin"``, ``"public"`` (no key
  needed; a valid key presented is still recognised), ``"metrics"`` (public when
  ``auth.public_metrics``, else admin);
- ``tool``: set on every route of an image slice; its POST calls are billed to the key's quota;
- ``billed``: true bills every method of a ``tool`` route, not only POST (rembg's ``GET ?url=``);
- ``rate_limited``: false exempts a public route from rate limits (the liveness probe).
"""

from typing import Any

from litestar.connection import ASGIConnection
from litestar.handlers import BaseRouteHandler

from center_api.core.settings import Settings

ACCESS = "access"
TOOL = "tool"
BILLED = "billed"
RATE_LIMITED = "rate_limited"
PUBLIC = {ACCESS: "public"}
ADMIN_ONLY = {ACCESS: "admin"}
_ACCESS_LEVELS = frozenset({"public", "user", "admin", "metrics"})


def access_of(handler: BaseRouteHandler, settings: Settings) -> str:
    """The access level a handler declares (``user`` unless it opts out)."""
    level = str(handler.opt.get(ACCESS, "user"))
    if level not in _ACCESS_LEVELS:
        raise ValueError(f"unknown access level {level!r} on {handler}")
    if level == "metrics":
        return "public" if settings.auth.public_metrics else "admin"
    return level


def is_billable(connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler) -> bool:
    """POST calls to an image slice's routes are billed; reading catalogs or tasks is not."""
    is_computing = connection.scope.get("method") == "POST" or bool(handler.opt.get(BILLED))
    return is_computing and bool(handler.opt.get(TOOL))
