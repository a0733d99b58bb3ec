"""Other services' APIs, spoken here: remove.bg API v1.0 and rembg's server.

Clients written for those services switch by changing only the host (and, for remove.bg, the
key). The routes translate the other API's names onto our slices and call them through the
registry and their ``run()``, as tasks do; nothing here reaches into a slice's code.

May import: `core`, `db`, `kernel`, `registry`, `auth`, `http`, `sdk` (it sits beside `tasks`,
above the slices). `bootstrap` mounts its routers.
"""

from litestar import Router

from center_api.compat import rembg, removebg


def build_routers() -> list[Router]:
    """Fresh routers for one app: ``/v1.0`` (remove.bg) and ``/api/remove`` (rembg)."""
    return [removebg.build_router(), rembg.build_router()]
